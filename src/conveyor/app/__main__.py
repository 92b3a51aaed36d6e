"""`python -m conveyor.app` runs the CLI."""

from conveyor.app.cli import main

main()
