"""``python -m perfgate.cli``."""

import sys

from perfgate.cli._main import main

sys.exit(main())
