"""The Jsonnet evaluator's own process: `render_jsonnet` runs this file as a script.

Google's Jsonnet runs in C++ and cannot be interrupted from Python, so a runaway program
(an endless recursion, `std.range(1, 1e9)`) would keep a thread busy for ever; a process
can be killed when the render times out, and its memory is capped here with RLIMIT_AS.
Reads one JSON request on stdin, evaluates the files (in one program), writes one JSON
answer on stdout:
`{"outputs": [text, …]}` or `{"error": {"file": …, "message": …}}`.

Imports are confined to the repository root, as Argo CD confines them (its advisories
GHSA-f5x7-76gj-w9cg and others): the importing file's directory first, then the search
paths (the app's directory, then `libs`); a path that resolves outside the root, through
`..` or a symlink, or to something that is not a regular file, is refused.
Standard library and `_jsonnet` only: no Conveyor import, so the process starts fast.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any

import _jsonnet  # type: ignore[import-untyped]


class ImportRefused(Exception):
    """An import the worker will not read (outside the root, not a file, not found)."""


def make_importer(root: str, jpaths: list[str]) -> Any:
    """Jsonnet's import callback: search like Jsonnet's own FileImporter, inside `root`."""

    def importer(base: str, rel: str) -> tuple[str, bytes]:
        dirs = [] if Path(rel).is_absolute() else [base, *jpaths]
        for candidate in [Path(d, rel) for d in dirs] or [Path(rel)]:
            real = candidate.resolve()
            if not real.is_relative_to(root):
                raise ImportRefused(f"import {rel!r} resolves outside the repository")
            if real.is_file():
                return str(real), real.read_bytes()
            if real.exists():
                raise ImportRefused(f"import {rel!r} is not a regular file")
        raise ImportRefused(
            f"couldn't find import {rel!r} (searched the file's directory, "
            "the app's path and directory.jsonnet.libs)"
        )

    return importer


TLA = "__conveyor_tla_"  # TLAs travel as ext vars under this prefix in the combined program


def combined(files: list[str], tla_names: list[str]) -> str:
    """One program evaluating every file: one VM, so the standard library and each shared
    import are loaded once (the C++ implementation spends ~0.1 s per VM and per imported
    file here). A file whose value is a function is called with the TLAs by name, as
    `jsonnet --tla-str` calls it."""
    args = ", ".join(f"{name}=std.extVar({json.dumps(TLA + name)})" for name in tla_names)
    call = f"local call(v) = if std.isFunction(v) then v({args}) else v;\n"
    return call + "[\n" + "".join(f"  call(import {json.dumps(f)}),\n" for f in files) + "]\n"


def evaluate(request: dict[str, Any]) -> dict[str, Any]:
    """`{"outputs": [one JSON text per file]}`, or the first failing file's error."""
    importer = make_importer(request["root"], request["jpaths"])
    tla_vars, tla_codes = request["tla_vars"], request["tla_codes"]
    try:
        text = _jsonnet.evaluate_snippet(
            "<conveyor: the app's Jsonnet files>",
            combined(request["files"], [*tla_vars, *tla_codes]),
            ext_vars={**request["ext_vars"], **{TLA + k: v for k, v in tla_vars.items()}},
            ext_codes={**request["ext_codes"], **{TLA + k: v for k, v in tla_codes.items()}},
            import_callback=importer,
        )
    except (RuntimeError, ImportRefused):
        return one_by_one(request, importer)
    if len(text) > request["max_output"]:
        return {"error": {"file": request["jpaths"][0], "message": "", "limit": True}}
    return {"outputs": [json.dumps(value) for value in json.loads(text)]}


def one_by_one(request: dict[str, Any], importer: Any) -> dict[str, Any]:
    """Each file in its own VM: the fallback when the combined program fails, so the
    error is Jsonnet's own for the failing file (and a TLA name the combined call cannot
    spell still evaluates as `jsonnet` would)."""
    outputs, total = [], 0
    for file in request["files"]:
        try:
            found, content = importer("", file)
            text = _jsonnet.evaluate_snippet(
                found,
                content.decode(),
                ext_vars=request["ext_vars"],
                ext_codes=request["ext_codes"],
                tla_vars=request["tla_vars"],
                tla_codes=request["tla_codes"],
                import_callback=importer,
            )
        except (RuntimeError, ImportRefused) as exc:
            return {"error": {"file": file, "message": str(exc)}}
        total += len(text)
        if total > request["max_output"]:
            return {"error": {"file": request["jpaths"][0], "message": "", "limit": True}}
        outputs.append(text)
    return {"outputs": outputs}


def main() -> None:
    request = json.load(sys.stdin)
    limit = int(request["max_memory"])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    json.dump(evaluate(request), sys.stdout)


if __name__ == "__main__":
    main()
