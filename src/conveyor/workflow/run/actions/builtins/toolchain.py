"""Finding a host toolchain for `setup-python` / `setup-node`: no downloads here, so the
requested version must match a Python or Node.js already installed on the host.

A version spec is matched the way the real actions read the common forms: `3`, `3.x`,
`3.11`, `3.11.2`, `>=3.10` (lower bound), `20`, `20.x`, `lts/*`, `latest`, `node`.
The chosen binary is linked into a directory of the job's tool cache that is put in
front of PATH for the following steps (as GITHUB_PATH would).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from conveyor.core.errors import ConveyorError
from conveyor.workflow.run import envfiles
from conveyor.workflow.run.actions.builtins import BuiltinCall


def version_of(binary: str) -> tuple[int, ...] | None:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", out.stdout + out.stderr)
    return tuple(int(g) for g in match.groups()) if match else None


def matches(spec: str, version: tuple[int, ...]) -> bool:
    spec = spec.strip().lstrip("v")
    if spec in {"", "latest", "node", "lts/*", "x", "*"}:
        return True
    if spec.startswith(">="):
        wanted = tuple(int(p) for p in spec[2:].strip().split(".") if p.isdigit())
        return version[: len(wanted)] >= wanted
    parts = [p for p in spec.split(".") if p not in {"x", "*", ""}]
    if not all(p.isdigit() for p in parts):
        return False
    return all(version[i] == int(p) for i, p in enumerate(parts[:3]))


def spec_from(call: BuiltinCall, input_name: str, file_input: str) -> str:
    spec = call.get(input_name)
    file_name = call.get(file_input)
    if not spec and file_name:
        path = call.jr.setup.dirs.workspace / file_name
        if not path.is_file():
            raise ConveyorError(f"The specified version file {file_name} does not exist")
        spec = path.read_text().strip().splitlines()[0] if path.read_text().strip() else ""
    return spec.splitlines()[0].strip() if spec else ""


def find(candidates: list[str], spec: str, path: str | None) -> tuple[str, tuple[int, ...]] | None:
    for name in candidates:
        binary = shutil.which(name, path=path)
        if binary is None:
            continue
        version = version_of(binary)
        if version is not None and matches(spec, version):
            return binary, version
    return None


def activate(call: BuiltinCall, tool: str, binary: str, names: list[str]) -> Path:
    """Link `binary` under the names into the tool cache and put that first on PATH."""
    folder = call.jr.setup.dirs.tool_cache / tool / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        link = folder / name
        link.unlink(missing_ok=True)
        link.symlink_to(os.path.realpath(binary))
    jr = call.jr
    jr.state.path_prepend = envfiles.extend_prepend_path(jr.state.path_prepend, [str(folder)])
    return folder
