"""``python -m ticketing.entrypoints.cli`` is the ``ticketing`` command."""

import sys

from ticketing.entrypoints.cli import main

sys.exit(main())
