"""`python -m conveyor.app` runs the CLI."""

from conveyor.app.entry import main

main()
