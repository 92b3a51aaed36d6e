"""Trust for https URLs of a Conveyor server: the system's CAs, or one CA file.

`verify(ca_file)` is what the runner agent (`ci.agent`), the API client (`app.api`) and
`conveyor approve/reject` pass to httpx; `git_environment(ca_file, server_url, environ)` is
what the runner adds to git's environment so its clones of the server's `/git` URLs trust
the same CA, for that URL only (issue 12 §17). A CA file that cannot be read is an error,
never a fallback to no checks.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path

from conveyor.clients.errors import ClientError


def verify(ca_file: Path | str | None) -> ssl.SSLContext | bool:
    """An SSL context trusting `ca_file` (PEM), or True (the system's CAs) without one."""
    if not ca_file:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ClientError(
            f"cannot use the CA file {ca_file}: {exc}; give a readable PEM certificate"
        ) from exc


def git_environment(
    ca_file: Path | str | None, server_url: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """`environ` changed so git trusts `ca_file` for `server_url` only (unchanged without a
    CA file): an `http.<url>.sslCAInfo` entry appended to git's environment configuration
    (`GIT_CONFIG_COUNT`), so other https hosts keep their CAs. `GIT_SSL_CAINFO` would
    outrank any configuration, so one set in `environ` becomes `http.sslCAInfo` (all
    hosts, below the URL's entry) instead of staying a variable."""
    env = dict(environ)
    if not ca_file:
        return env
    ambient = env.pop("GIT_SSL_CAINFO", "")
    if ambient:
        env.update(git_config_entry(env, "http.sslCAInfo", ambient))
    url_key = f"http.{server_url.rstrip('/')}/.sslCAInfo"
    env.update(git_config_entry(env, url_key, str(Path(ca_file).resolve())))
    return env


def git_config_entry(environ: Mapping[str, str], key: str, value: str) -> dict[str, str]:
    """`GIT_CONFIG_*` variables that add `key = value` after the entries `environ` has."""
    count = int(environ.get("GIT_CONFIG_COUNT", "0") or "0")
    return {
        "GIT_CONFIG_COUNT": str(count + 1),
        f"GIT_CONFIG_KEY_{count}": key,
        f"GIT_CONFIG_VALUE_{count}": value,
    }
