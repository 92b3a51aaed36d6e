"""Built-in `docker/login-action`: `podman login` into the job's registry auth file.

Inputs as the real action: `registry` (default Docker Hub), `username`, `password`, `logout`
(default true: the credentials are removed at the job's end, in a post step). The
credentials go to `REGISTRY_AUTH_FILE` under the job's temp directory, which the built-in
`docker/build-push-action` and `podman push` then use. A registry on 127.0.0.1/localhost is
spoken to without TLS, like Docker's default for loopback registries.
"""

from __future__ import annotations

from conveyor.core.errors import ConveyorError
from conveyor.workflow.run.actions.builtins import BuiltinCall
from conveyor.workflow.run.containers import podman
from conveyor.workflow.run.scope import JobRun, PostStep


def auth_file(jr: JobRun) -> str:
    """The job's registry credentials file (shared by login, build-push)."""
    return str(jr.setup.dirs.root / "registry-auth.json")


def tls_flags(registry: str) -> list[str]:
    host = registry.split("/", 1)[0]
    local = host.startswith(("127.", "localhost", "[::1]"))
    return ["--tls-verify=false"] if local else []


async def run(call: BuiltinCall) -> dict[str, str]:
    registry = call.get("registry", "docker.io")
    username, password = call.get("username"), call.get("password")
    if not username or not password:
        raise ConveyorError("Username and password required")
    call.jr.setup.session.masker.add(password)
    pm = podman()
    args = ["login", "--authfile", auth_file(call.jr), *tls_flags(registry)]
    result = await pm.run(
        *args,
        "-u",
        username,
        "--password-stdin",
        "--",
        registry,
        stdin=password.encode(),
        check=False,
    )
    if result.returncode != 0:
        raise ConveyorError(f"login to {registry} failed: {result.stderr.strip()}")
    call.jr.write(f"Login Succeeded! ({registry})")
    if call.flag("logout", default=True):

        async def logout() -> bool:
            await pm.run("logout", "--authfile", auth_file(call.jr), "--", registry, check=False)
            call.jr.write(f"Logged out of {registry}")
            return True

        call.posts.append(PostStep(name="Post Log in", condition="always()", run=logout))
    return {}
