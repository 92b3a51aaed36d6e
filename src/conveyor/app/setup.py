"""First-start setup of the demo on a running server: repositories, variables, secrets and
environments, through the REST API (`conveyor.app.api`) and Git over HTTP.

`seed_platform(info, examples)` creates `demo/app` and `demo/config`, pushes their seed
content (`conveyor.app.seed`; existing repositories are left alone), and (idempotently,
on every start) sets what the demo's workflows read: variables `REGISTRY`, `CONFIG_REPO`,
`DEV_URL`/`STAGING_URL`/`PROD_URL`; the demo's age key for its SOPS-encrypted Secret
(`sops_key_file`, made once); secrets `CONFIG_REPO_TOKEN`, `REGISTRY_USERNAME`,
`REGISTRY_PASSWORD`; environments dev and staging (no rules) and prod (one required
reviewer: the admin). Called by `conveyor.app.cmd_up`.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from conveyor.app import platform, seed
from conveyor.app.api import Api
from conveyor.app.platform import PlatformInfo
from conveyor.clients.sops import agekeys

ADMIN = "admin"


def admin_token_file(state_dir: Path) -> Path:
    """Where the server keeps the admin token (created 0600 on its first start)."""
    return platform.server_data(state_dir) / "admin-token"


def sops_key_file(state_dir: Path) -> Path:
    """The demo's age identity (issue 17): `conveyor up` makes it (0600) on its first start;
    the demo's Secret is encrypted for it and the demo apps' `spec.decryption` names it."""
    return state_dir / "sops" / "age.key"


def _substitutions(info: PlatformInfo) -> dict[str, str]:
    key_file = str(sops_key_file(Path(info.state_dir)))
    return {
        seed.DEFAULT_REGISTRY: info.registry,
        seed.DEFAULT_SERVER: info.server_url,
        seed.DEFAULT_AGE_KEY_FILE: key_file,
    }


def seed_platform(info: PlatformInfo, examples: Path) -> list[str]:
    """Create and seed the demo repositories; set the demo's settings. Returns what was seeded."""
    token = info.token()
    recipient = agekeys.ensure_key_file(sops_key_file(Path(info.state_dir)))
    seeded = []
    with Api(info.server_url, token) as api:
        for repo in (info.config_repo, info.app_repo):
            api.create_repo(repo)
        configure_app_repo(api, info, token)  # before the first push: its CI run reads them
        for repo, source in ((info.config_repo, "demo-config"), (info.app_repo, "demo-app")):
            sha = seed.seed_repo(
                examples / source,
                info.git_url(repo),
                token=token,
                substitutions=_substitutions(info),
                age_recipients=[recipient],
            )
            if sha is not None:
                seeded.append(f"{repo}@{sha[:12]}")
    return seeded


def reconciler_token(info: PlatformInfo) -> str:
    """A read-only token for the reconciler's fetches: a new one per start, the previous
    start's revoked (token names are unique)."""
    with Api(info.server_url, info.token()) as api:
        api.revoke_token("reconciler")
        return api.create_token("reconciler", "read")


def configure_app_repo(api: Api, info: PlatformInfo, token: str) -> None:
    repo = info.app_repo
    api.put_variable(repo, "REGISTRY", info.registry)
    api.put_variable(repo, "CONFIG_REPO", info.git_url(info.config_repo))
    for env, url in info.environments.items():
        api.put_variable(repo, f"{env.upper()}_URL", url)
    api.put_secret(repo, "CONFIG_REPO_TOKEN", token)
    api.put_secret(repo, "REGISTRY_USERNAME", "conveyor")
    api.put_secret(repo, "REGISTRY_PASSWORD", secrets.token_urlsafe(16))
    for env in info.environments:
        api.put_environment(repo, env, reviewers=[ADMIN] if env == "prod" else [])
