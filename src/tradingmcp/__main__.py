"""``python -m tradingmcp`` = the ``tradingmcp`` console script."""

import sys

from tradingmcp.cli import main

sys.exit(main())
