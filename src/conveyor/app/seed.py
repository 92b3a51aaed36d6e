"""First-start seeding for `conveyor up`: the demo repositories and the demo's first image.

`seed_repo(source, push_url, token=…, substitutions=…)` copies an `examples/` directory into
a scratch work tree, rewrites the defaults written in the examples (the registry address
`127.0.0.1:5000`, the server URL `http://127.0.0.1:8080`) to the running platform's, commits
it on `main` as one commit, and pushes it over HTTP with the admin token (sent as a header
through git's environment, never in a URL or a log). A repository whose `main` already
exists is left alone, so a restart never rewrites history.

Files named `*.sops.yaml` that are not encrypted yet are encrypted with SOPS for
`age_recipients` before the commit (the demo's Secret: the hosted config repo holds only its
ciphertext; issue 17); seeding such a file without a recipient is refused. A `.sops.yaml`
(sops' config, not a secret) is left as it is.

`seed_image(...)` builds the demo app as `<registry>/demo/app:seed` FROM the local busybox
base and pushes it, so every environment runs something before the first CI run.

Called by `conveyor.app.cmd_up` (and the end-to-end test through it).
"""

from __future__ import annotations

import base64
import datetime
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from conveyor.clients.podman import Podman
from conveyor.clients.podman_images import ensure_busybox_image
from conveyor.clients.sops import creation, document, files
from conveyor.clients.sops.tree import Rules
from conveyor.core.errors import ConveyorError

#: The values the examples are written with (valid as they stand), replaced at seed time.
DEFAULT_REGISTRY = "127.0.0.1:5000"
DEFAULT_SERVER = "http://127.0.0.1:8080"
DEFAULT_AGE_KEY_FILE = "/etc/conveyor/sops-age.key"  # the demo apps' spec.decryption.keyFile
SOPS_SUFFIX = ".sops.yaml"
SEED_TAG = "seed"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Conveyor",
    "GIT_AUTHOR_EMAIL": "conveyor@localhost",
    "GIT_COMMITTER_NAME": "Conveyor",
    "GIT_COMMITTER_EMAIL": "conveyor@localhost",
}
_TEXT_SUFFIXES = {".yaml", ".yml", ".md", ".sh", ".html", ""}


class SeedError(ConveyorError):
    """Seeding a repository or the first image failed (the message says which step)."""


def auth_env(token: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment that makes git send `token` on every HTTP request (not in argv or URLs)."""
    env = dict(os.environ if base is None else base)
    count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    env.update(
        {
            "GIT_CONFIG_COUNT": str(count + 1),
            f"GIT_CONFIG_KEY_{count}": "http.extraHeader",
            f"GIT_CONFIG_VALUE_{count}": f"Authorization: Basic {basic}",
            "GIT_TERMINAL_PROMPT": "0",
        }
    )
    return env


def substitute(text: str, substitutions: Mapping[str, str]) -> str:
    for old, new in substitutions.items():
        text = text.replace(old, new)
    return text


def _git(args: list[str], *, cwd: Path, env: Mapping[str, str], token: str = "") -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=dict(env), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip().replace(token or "\0", "***")
        raise SeedError(f"git {args[0]} failed: {message}")
    return proc.stdout


def remote_has_main(push_url: str, token: str) -> bool:
    env = auth_env(token)
    out = _git(
        ["ls-remote", "--end-of-options", push_url, "refs/heads/main"],
        cwd=Path.cwd(),
        env=env,
        token=token,
    )
    return bool(out.strip())


def seed_repo(
    source: Path,
    push_url: str,
    *,
    token: str,
    substitutions: Mapping[str, str],
    age_recipients: Sequence[str] = (),
    message: str = "Seed from Conveyor's examples [skip ci]",
) -> str | None:
    """Push `source` as the first commit of `push_url`'s main; None if main already exists."""
    if remote_has_main(push_url, token):
        return None
    env = {**auth_env(token), **_IDENTITY}
    with tempfile.TemporaryDirectory(prefix="conveyor-seed-") as tmp:
        tree = Path(tmp) / source.name
        shutil.copytree(source, tree)
        for path in tree.rglob("*"):
            if path.is_file() and path.suffix in _TEXT_SUFFIXES:
                text = path.read_text()
                changed = substitute(text, substitutions)
                if changed != text:
                    path.write_text(changed)
        encrypt_sops_files(tree, age_recipients)
        _git(["init", "-q", "-b", "main"], cwd=tree, env=env)
        _git(["add", "-A"], cwd=tree, env=env)
        _git(["commit", "-q", "-m", message], cwd=tree, env=env)
        _git(
            ["push", "-q", "--end-of-options", push_url, "HEAD:refs/heads/main"],
            cwd=tree,
            env=env,
            token=token,
        )
        return _git(["rev-parse", "HEAD"], cwd=tree, env=env).strip()


def encrypt_sops_files(tree: Path, recipients: Sequence[str]) -> None:
    """Encrypt every `*.sops.yaml` under `tree` not encrypted yet, as `conveyor secrets
    encrypt` does (Flux's `data`/`stringData` rule)."""
    now = datetime.datetime.now(datetime.UTC)
    rules = Rules(encrypted_regex="^(data|stringData)$")
    for path in sorted(tree.rglob("*" + SOPS_SUFFIX)):
        if path.name == creation.CONFIG_NAME:  # sops' own config file, not a secret
            continue
        doc = files.load(path.read_text(), source=path.name)
        if document.is_encrypted(doc):
            continue
        if not recipients:
            raise SeedError(f"{path.name} would be committed in clear: no age recipient given")
        out = document.encrypt(doc, recipients, rules=rules, now=now, source=path.name)
        path.write_text(files.dump(out, as_json=False))


async def seed_image(app_dir: Path, registry: str, podman: Podman) -> str:
    """Build `app_dir`'s Containerfile as `<registry>/demo/app:seed` and push it."""
    await ensure_busybox_image(podman)
    image = f"{registry}/demo/app:{SEED_TAG}"
    exists = await podman.run("image", "exists", "--", image, check=False)
    if exists.returncode != 0:
        await podman.run(
            "build", "-q", "-t", image, "-f", str(app_dir / "Containerfile"), "--", str(app_dir)
        )
    await podman.run("push", "-q", "--tls-verify=false", "--", image)
    return image
