"""Built-in `actions/setup-python`: use a host Python matching `python-version` (or
`python-version-file`), or fail naming the version and what the host has.

Outputs as the real action: `python-version`, `python-path`, `cache-hit` ("false"); sets
`pythonLocation` and puts the interpreter first on PATH as `python` and `python3`.
"""

from __future__ import annotations

from pathlib import Path

from conveyor.core.errors import ConveyorError
from conveyor.workflow.run.actions.builtins import BuiltinCall
from conveyor.workflow.run.actions.builtins.toolchain import activate, find, spec_from


async def run(call: BuiltinCall) -> dict[str, str]:
    spec = spec_from(call, "python-version", "python-version-file")
    if spec.startswith(("pypy", "graalpy")):
        raise ConveyorError(f"python-version {spec!r}: only CPython on the host can be used")
    path = call.env.get("PATH")
    names = ["python3", "python"]
    for folder in (Path("/usr/local/bin"), Path("/usr/bin")):
        names += sorted(p.name for p in folder.glob("python3.*") if p.name[-1].isdigit())
    found = find(names, spec, path)
    if found is None:
        raise ConveyorError(
            f"The version '{spec}' with architecture 'x64' was not found on this host; "
            "install that Python (Conveyor does not download toolchains)"
        )
    binary, version = found
    folder = activate(call, "Python", binary, ["python", "python3"])
    call.jr.state.file_env["pythonLocation"] = str(folder.parent)
    text = ".".join(map(str, version))
    call.jr.write(f"Successfully set up CPython ({text}) from {binary}")
    return {"python-version": text, "python-path": str(folder / "python"), "cache-hit": "false"}
