"""Jsonnet files of a `directory` source, evaluated as Argo CD evaluates them (issue 14).

Argo CD's repo server evaluates every selected `*.jsonnet` file (the same recurse /
include / exclude selection as the YAML; `*.libsonnet` are only imported, never
evaluated) with `directory.jsonnet`: `extVars` and `tlas` (`code: true` ⇒ the value is
Jsonnet code, else a string), search paths = the app's directory, then each of `libs`
(relative to the repository root). A result that is an object is one manifest, an array
is one manifest per element (`null` elements skipped), and a `kind: …List` object is
flattened to its items, as Argo CD does after rendering; anything else (a string, a
nested array) is an error, as in Argo CD ("Failed to unmarshal generated json").
`$VAR` / `${VAR}` in `extVars`/`tlas` values are Argo CD's build environment; `$$` is a
literal `$`.

Evaluation runs in a child process (`jsonnet_worker`): Google's Jsonnet runs in C++ and
cannot be stopped from a Python thread, so a timeout kills the process, whose memory is
capped; the combined output is capped too. Called by `render_directory.render_tree`.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.core.location import Location
from conveyor.reconcile.appmodel import JsonnetSpec, JsonnetVar
from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.manifests import objects
from conveyor.targets.base import Manifest

WORKER = Path(__file__).with_name("jsonnet_worker.py")
MAX_OUTPUT = 64 * 1024 * 1024  # bytes of JSON from one directory's Jsonnet files
MAX_MEMORY = 2 * 1024 * 1024 * 1024  # address space of the evaluating process
_VAR = re.compile(r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_WHERE = re.compile(r"(?P<file>[^\s:]+\.(?:jsonnet|libsonnet)):(?P<line>\d+):(?P<col>\d+)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    timeout: float
    max_output: int = MAX_OUTPUT
    max_memory: int = MAX_MEMORY


async def evaluate(
    files: Sequence[Path],
    *,
    spec: JsonnetSpec,
    app_dir: Path,
    root: Path,
    env: Mapping[str, str],
    limits: Limits,
) -> dict[Path, list[Manifest]]:
    """Each file's manifests; RenderError naming file:line:col on any failure."""
    request = {
        "root": str(root.resolve()),
        "files": [str(f.resolve()) for f in files],
        "jpaths": [str(app_dir.resolve()), *(_lib(root, lib) for lib in spec.libs)],
        **_variables(spec, env),
        "max_output": limits.max_output,
        "max_memory": limits.max_memory,
    }
    answer = await _run(request, limits.timeout, root=root, files=files)
    if "error" in answer:
        raise _error(answer["error"], root=root, limits=limits)
    return {
        file: to_manifests(text, _shown(file, root))
        for file, text in zip(files, answer["outputs"], strict=True)
    }


def to_manifests(text: str, shown: str) -> list[Manifest]:
    """Argo CD's reading of an evaluated file: an object, or an array of objects."""
    data = json.loads(text)
    items = data if isinstance(data, list) else [data]
    bad = next((i for i in items if i is not None and not isinstance(i, dict)), None)
    if bad is not None:
        raise RenderError(
            f"Jsonnet produced {_what(bad)}{' inside an array' if data is not bad else ''}, "
            "not a Kubernetes object",
            location=Location(file=shown),
            hint="evaluate to an object or an array of objects; "
            "flatten nested arrays with std.flattenArrays",
        )
    # `objects` checks apiVersion/kind and flattens `kind: …List` as Argo CD does
    return list(objects([i for i in items if i is not None], shown))


def substitute(value: str, env: Mapping[str, str], *, where: str) -> str:
    """Argo CD's build-environment substitution (`os.Expand`), strict on unknown names."""

    def one(match: re.Match[str]) -> str:
        if match.group(1) == "$":
            return "$"
        name = match.group(2) or match.group(3)
        if name not in env:
            raise RenderError(
                f"{where} mentions ${name}, which is not in the build environment "
                f"Conveyor provides to Jsonnet ({', '.join(sorted(env))})",
                hint="write the value out, or write $$ for a literal $",
            )
        return env[name]

    return _VAR.sub(one, value)


def _variables(spec: JsonnetSpec, env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    def split(items: tuple[JsonnetVar, ...], kind: str, code: bool) -> dict[str, str]:
        return {
            v.name: substitute(v.value, env, where=f"directory.jsonnet.{kind} {v.name!r}")
            for v in items
            if v.code == code
        }

    return {
        "ext_vars": split(spec.ext_vars, "extVars", False),
        "ext_codes": split(spec.ext_vars, "extVars", True),
        "tla_vars": split(spec.tlas, "tlas", False),
        "tla_codes": split(spec.tlas, "tlas", True),
    }


def _lib(root: Path, lib: str) -> str:
    """A `libs` entry: a directory relative to the repository root, and inside it."""
    path = (root / lib.lstrip("/")).resolve()
    if not path.is_relative_to(root.resolve()):
        raise RenderError(
            f"directory.jsonnet.libs entry {lib!r} points outside the repository",
            hint="name a directory inside the repository, relative to its root",
        )
    if not path.is_dir():
        raise RenderError(
            f"directory.jsonnet.libs entry {lib!r} is not a directory of the checked-out tree",
            hint="libs are relative to the repository root, not to spec.source.path",
        )
    return str(path)


async def _run(
    request: dict[str, Any], timeout: float, *, root: Path, files: Sequence[Path]
) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        str(WORKER),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(json.dumps(request).encode()), timeout)
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        names = ", ".join(_shown(f, root) for f in files[:5])
        raise RenderError(
            f"Jsonnet evaluation timed out after {timeout:g}s ({names})",
            hint="look for unbounded recursion or very large ranges, or raise the render timeout",
        ) from exc
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        raise RenderError(
            f"Jsonnet evaluation failed: {detail[-1] if detail else f'exit {proc.returncode}'}",
            hint=f"the evaluator may have run out of memory ({MAX_MEMORY >> 20} MiB allowed)",
        )
    answer: dict[str, Any] = json.loads(out)
    return answer


def _error(error: dict[str, str], *, root: Path, limits: Limits) -> RenderError:
    file = Path(error["file"])
    if error.get("limit"):
        return RenderError(
            f"Jsonnet output exceeds {limits.max_output >> 20} MiB",
            location=Location(file=_shown(file, root)),
            hint="split the app, or render it in CI and commit the output",
        )
    message = error["message"].replace(str(root.resolve()) + "/", "").strip()
    first = message.splitlines()[0] if message else "evaluation failed"
    where = _WHERE.search(message)
    location = (
        Location(file=where["file"], line=int(where["line"]), col=int(where["col"]))
        if where
        else Location(file=_shown(file, root))
    )
    first = _WHERE.sub("", first).replace("STATIC ERROR: : ", "STATIC ERROR: ")
    return RenderError(
        f"Jsonnet: {first.strip()}",
        location=location,
        hint=f"fix {_shown(file, root)} (try `jsonnet {_shown(file, root)}` locally)",
    )


def _shown(file: Path, root: Path) -> str:
    try:
        return file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return file.name


def _what(value: Any) -> str:
    return "an array" if isinstance(value, list) else f"a {type(value).__name__} ({value!r:.40})"
