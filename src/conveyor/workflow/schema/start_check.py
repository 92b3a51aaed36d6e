"""Errors GitHub raises only when a run starts, found by `conveyor lint` before it, and names
GitHub and actionlint warn about.

- A literal matrix whose `exclude` entry names a key the matrix does not define: "Matrix
  exclude key 'x' does not match any key within the matrix". `include` entries may add new
  keys, so they are not checked; a matrix computed by an expression is checked at run time.
- A literal `shell:` (a step's, or `defaults.run`) that is neither a built-in shell (bash,
  pwsh, python, sh, cmd, powershell) nor a format string containing `{0}`: the runner's
  "Invalid shell option" error.
- Warnings (the file stays valid, exit code unaffected): `env` names that contain `=` or
  whitespace, which no process environment can carry as written (actionlint's env-var check).

Called by `validate` after the schema walk. Pure.
"""

from __future__ import annotations

from conveyor.workflow.schema.nodes import Map, Node, Scalar, Seq
from conveyor.workflow.schema.problems import Sink

BUILTIN_SHELLS = frozenset({"bash", "pwsh", "python", "sh", "cmd", "powershell"})
INVALID_SHELL = (
    "Invalid shell option. Shell must be a valid built-in (bash, sh, cmd, powershell, pwsh) "
    "or a format string containing '{0}'"
)


def check_start(root: Node, sink: Sink) -> None:
    if not isinstance(root, Map):
        return
    _env_names(root.get("env"), sink)
    _defaults(root.get("defaults"), sink)
    jobs = root.get("jobs")
    for _, job in jobs.items() if isinstance(jobs, Map) else []:
        if isinstance(job, Map):
            _job(job, sink)


def _job(job: Map, sink: Sink) -> None:
    _env_names(job.get("env"), sink)
    _defaults(job.get("defaults"), sink)
    strategy = job.get("strategy")
    if isinstance(strategy, Map):
        _matrix_exclude(strategy.get("matrix"), sink)
    container = job.get("container")
    if isinstance(container, Map):
        _env_names(container.get("env"), sink)
    steps = job.get("steps")
    for step in steps.items if isinstance(steps, Seq) else ():
        if isinstance(step, Map):
            _env_names(step.get("env"), sink)
            _shell(step.get("shell"), sink)


def _defaults(node: Node | None, sink: Sink) -> None:
    run = node.get("run") if isinstance(node, Map) else None
    if isinstance(run, Map):
        _shell(run.get("shell"), sink)


def _shell(node: Node | None, sink: Sink) -> None:
    if not isinstance(node, Scalar) or not isinstance(node.value, str) or "${{" in node.value:
        return
    text = node.value.strip()
    # The runner looks built-ins up case-insensitively (ScriptHandlerHelpers' OrdinalIgnoreCase
    # table), so `Bash` gets bash's arguments; whether a `Bash` program exists is the host's.
    if text and text.lower() not in BUILTIN_SHELLS and "{0}" not in text:
        sink.add(node.line, node.col, INVALID_SHELL, "shell")


def _matrix_exclude(matrix: Node | None, sink: Sink) -> None:
    if not isinstance(matrix, Map):
        return
    keys = {k.text for k, _ in matrix.items() if k.text not in ("include", "exclude")}
    if any("${{" in k for k in keys) or any(
        isinstance(v, Scalar) and k.text in ("include", "exclude") for k, v in matrix.items()
    ):
        return  # computed: GitHub checks it when the run starts, and so does the engine
    exclude = matrix.get("exclude")
    for entry in exclude.items if isinstance(exclude, Seq) else ():
        if not isinstance(entry, Map):
            continue
        for key, _ in entry.items():
            if key.text not in keys and "${{" not in key.text:
                sink.add(
                    key.line,
                    key.col,
                    f"Matrix exclude key '{key.text}' does not match any key within the matrix",
                    "matrix",
                )


def _env_names(env: Node | None, sink: Sink) -> None:
    if not isinstance(env, Map):
        return
    for key, _ in env.items():
        name = key.text
        if "${{" in name:
            continue
        if "=" in name or any(c.isspace() for c in name):
            sink.warn(
                key.line,
                key.col,
                f"Environment variable name '{name}' contains '=' or whitespace; "
                "a process cannot receive it as written",
                "env-name",
            )
