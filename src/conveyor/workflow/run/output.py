"""What happens to each output line of a step: workflow commands, masking, logs.

`steps.py` makes one `LineHandler` per process it starts (a `run:` script, a node action)
and hands it to the runner as `on_output`. Commands come from D1's `CommandParser` (one per
step, so `::stop-commands::` ends with the step); `::add-mask::` extends the run's shared
`Masker`; annotations are kept on the job; everything printed goes through `JobRun.write`,
which masks, shows it on the console and appends it to the step's log.
"""

from __future__ import annotations

from conveyor.workflow.run.commands import CommandKind, CommandParser
from conveyor.workflow.run.scope import JobRun


class LineHandler:
    """Callable per output line; `outputs` collects legacy `::set-output::` values."""

    def __init__(self, jr: JobRun) -> None:
        self.jr = jr
        self.debug = jr.step_debug
        self.parser = CommandParser(debug=self.debug, workspace=str(jr.dirs.workspace))
        self.outputs: dict[str, str] = {}
        self.failed = False

    def __call__(self, line: str) -> None:
        command = self.parser.parse_line(line)
        jr = self.jr
        if command is None:
            jr.write(line)
            return
        if command.kind is CommandKind.ADD_MASK and command.data:
            jr.session.masker.add(command.data)
        elif command.kind is CommandKind.SET_OUTPUT:
            self.outputs[command.properties.get("name", "")] = command.data
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
