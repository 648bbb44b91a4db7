"""``python -m perfgate``: the command line."""

import sys

from perfgate.cli._main import main

sys.exit(main())
