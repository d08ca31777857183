"""``python -m tradingmcp`` = the ``tradingmcp`` console script."""

import sys

from tradingmcp.app.cli import main

sys.exit(main())
