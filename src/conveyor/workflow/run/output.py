"""What happens to each output line of a step: workflow commands, masking, logs.

`steps.py` makes one `LineHandler` per process it starts (a `run:` script, a node action)
and hands it to the runner as `on_output`. Commands come from D1's `CommandParser` (one per
step, so `::stop-commands::` ends with the step); `::add-mask::` extends the run's shared
`Masker`; annotations are kept on the job; everything printed goes through `JobRun.write`,
which masks, shows it on the console and appends it to the step's log.
"""

from __future__ import annotations

from collections.abc import Mapping

from conveyor.workflow.run import envfiles
from conveyor.workflow.run.commands import CommandKind, CommandParser
from conveyor.workflow.run.scope import JobRun

#: GitHub's opt-in for the deprecated `::set-env::` and `::add-path::` commands, read from
#: the step's environment (workflow, job and step `env` together), as the runner does
UNSECURE_COMMANDS = "ACTIONS_ALLOW_UNSECURE_COMMANDS"


def allows_unsecure_commands(env: Mapping[str, str]) -> bool:
    """C#'s `bool.TryParse` as the runner applies it: `true` in any case, spaces trimmed."""
    return env.get(UNSECURE_COMMANDS, "").strip().lower() == "true"


class LineHandler:
    """Callable per output line; `outputs` collects legacy `::set-output::` values."""

    def __init__(self, jr: JobRun, *, env: Mapping[str, str] | None = None) -> None:
        self.jr = jr
        self.debug = jr.step_debug
        self.parser = CommandParser(
            debug=self.debug,
            workspace=str(jr.setup.dirs.workspace),
            allow_unsecure_commands=allows_unsecure_commands(env or {}),
        )
        self.outputs: dict[str, str] = {}
        self.failed = False

    def __call__(self, line: str) -> None:
        command = self.parser.parse_line(line)
        jr = self.jr
        if command is None:
            jr.write(line)
            return
        if command.kind is CommandKind.ADD_MASK and command.data:
            jr.setup.session.masker.add(command.data)
        elif command.kind is CommandKind.SET_OUTPUT:
            self.outputs[command.properties.get("name", "")] = command.data
        elif command.kind is CommandKind.SET_ENV:  # later steps see it, like GITHUB_ENV
            jr.state.file_env[command.properties.get("name", "")] = command.data
        elif command.kind is CommandKind.ADD_PATH:
            jr.state.path_prepend = envfiles.extend_prepend_path(
                jr.state.path_prepend, [command.data]
            )
        for note in command.annotations:
            jr.annotate(note)
        if command.kind is CommandKind.DEBUG and self.debug:
            jr.write(f"Debug: {command.data}")  # step debug asked for by secret/variable
        elif command.display is not None:
            jr.write(command.display)
        if command.failed:
            self.failed = True

    def close(self) -> None:
        """Nothing buffered today; kept so callers end a handler explicitly."""
