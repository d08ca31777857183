"""The composition root: the ``tradingmcp`` command line and the stacks it starts (serve, demo, bench wiring)."""
