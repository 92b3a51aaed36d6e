"""The console script `conveyor` (and `python -m conveyor.app`).

Short commands (`warmstart.WARM_COMMANDS`) first try a warm start: a background server
that has already imported Conveyor forks a child to run them (see `app.warmstart`), which
takes ~110 ms of imports off a one-step `conveyor run` (issue 2). Without a server the
command runs here, and a server is started in the background for the next one.

Start-up imports (click, asyncio, the engine's modules) allocate many objects and no garbage
worth collecting, so the cyclic collector is paused until the subcommand's module has
loaded (`cli.LazyGroup.get_command` switches it back on before the command runs). That
saves ~10 ms of every cold start. Library users and tests import `conveyor.app.cli`
directly and are unaffected.
"""

import gc
import sys


def main() -> int:
    """The exit code of `conveyor ARGV`; the console-script wrapper exits with it."""
    from conveyor.app import warmstart

    args = sys.argv[1:]
    code = warmstart.run(args)
    if code is not None:
        return code
    gc.disable()
    from conveyor.app.cli import run as cli_run

    return cli_run(args)
