"""Built-in `docker/build-push-action`: `podman build` (Buildah), then `podman push`.

Inputs as the real action: `context` (default: the workspace, which holds the checkout; the
real action's default is the Git context of the same commit), `file` (default
`<context>/Dockerfile`), `tags`, `build-args`, `labels`, `target`, `push`, `load`,
`no-cache`, `pull`, `platforms` (only the host's platform can be built here); `cache-from` /
`cache-to` are accepted and ignored (Buildah's layer cache is always on). Credentials come
from the built-in `docker/login-action` of the same job. Outputs: `imageid` (the config
digest), `digest` (the pushed manifest's digest; empty without `push`), `metadata` (JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

from conveyor.clients.podman_images import BUSYBOX_IMAGE, ensure_busybox_image
from conveyor.core import tracing
from conveyor.core.errors import ConveyorError
from conveyor.runners.host import HostRunner
from conveyor.workflow.run.actions.builtins import BuiltinCall
from conveyor.workflow.run.actions.builtins.login import auth_file, tls_flags
from conveyor.workflow.run.containers import podman


async def _stream(call: BuiltinCall, *args: str) -> None:
    pm = podman()
    result = await HostRunner().exec(
        pm.argv(*args),
        env=dict(pm.env),
        cwd=call.jr.setup.dirs.workspace,
        timeout=None,
        on_output=call.jr.write,
    )
    if result.exit_code != 0:
        raise ConveyorError(f"podman {args[0]} failed with exit code {result.exit_code}")


def _path(call: BuiltinCall, value: str, default: Path) -> Path:
    if not value:
        return default
    path = Path(value)
    return path if path.is_absolute() else (call.jr.setup.dirs.workspace / path)


async def _base_image(dockerfile: Path) -> None:
    """Conveyor's busybox base (no internet registry here) exists in every Podman storage a
    build may use: `conveyor up` builds it for the server, and a local job that runs as the
    job user (issue 12 #1) builds with that user's own rootless storage."""
    if BUSYBOX_IMAGE in dockerfile.read_text(errors="replace"):
        await ensure_busybox_image(podman())


async def run(call: BuiltinCall) -> dict[str, str]:
    workspace = call.jr.setup.dirs.workspace
    context = _path(call, call.get("context"), workspace)
    dockerfile = _path(call, call.get("file"), context / "Dockerfile")
    if not dockerfile.is_file():
        raise ConveyorError(f"Dockerfile not found: {dockerfile}")
    await _base_image(dockerfile)
    tags = call.lines("tags")
    temp = call.jr.setup.dirs.temp
    iidfile = temp / "build-push-iid"
    args = ["build", "-f", str(dockerfile), "--iidfile", str(iidfile)]
    for tag in tags:
        args += ["-t", tag]
    for line in call.inputs.get("build-args", "").splitlines():
        if line.strip():
            args += ["--build-arg", line.strip()]
    for line in call.inputs.get("labels", "").splitlines():
        if line.strip():
            args += ["--label", line.strip()]
    if call.get("target"):
        args += ["--target", call.get("target")]
    if call.flag("no-cache"):
        args.append("--no-cache")
    if call.flag("pull"):
        args.append("--pull")
    for ignored in ("cache-from", "cache-to"):
        if call.get(ignored):
            call.jr.write(f"{ignored} is accepted and ignored: Buildah's layer cache is used")
    with tracing.span("image build", attributes={"container.image.tags": ",".join(tags)}):
        await _stream(call, *args, "--", str(context))
    image_id = iidfile.read_text().strip()
    if not image_id.startswith("sha256:"):
        image_id = f"sha256:{image_id}"
    digest = ""
    if call.flag("push"):
        if not tags:
            raise ConveyorError("push: true needs at least one tag")
        authfile = Path(auth_file(call.jr))
        for tag in tags:
            digestfile = temp / "build-push-digest"
            push = ["push", "--digestfile", str(digestfile), *tls_flags(tag)]
            if authfile.exists():
                push += ["--authfile", str(authfile)]
            with tracing.span("image push", attributes={"container.image.name": tag}):
                await _stream(call, *push, "--", tag)
            digest = digestfile.read_text().strip()
    metadata = {
        "containerimage.config.digest": image_id,
        "image.name": ",".join(tags),
    }
    if digest:
        metadata["containerimage.digest"] = digest
    return {"imageid": image_id, "digest": digest, "metadata": json.dumps(metadata)}
