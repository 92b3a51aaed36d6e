"""`python -m conveyor.app` runs the CLI."""

import sys

from conveyor.app.entry import main

sys.exit(main())
