"""The console script `conveyor` (and `python -m conveyor.app`).

Start-up imports (click, asyncio, the engine's modules) allocate many objects and no garbage
worth collecting, so the cyclic collector is paused until the subcommand's module has
loaded (`cli.LazyGroup.get_command` switches it back on before the command runs). That
saves ~10 ms of every start, which matters for a one-step `conveyor run` (issue 2).
Library users and tests import `conveyor.app.cli` directly and are unaffected.
"""

from __future__ import annotations

import gc
from typing import Any


def main() -> Any:
    gc.disable()
    from conveyor.app.cli import main as cli_main

    return cli_main()
