"""The live tool family: account push streams (``orders:``/``balances:``), live resources (``ticker://``, ``book://``,
``account://``, ``orders://``) and ``wait_for_event``.

* :mod:`.account_streams`: push streams ``orders:<exchange>[:SYMBOL]`` and ``balances:<exchange>`` (lossless);
* :mod:`.resources`: ``ticker://``, ``book://``, ``account://<exchange>/balances``, ``orders://<exchange>/open``
  (read, subscribe → ``notifications/resources/updated``), over the account caches of
  :mod:`tradingmcp.server.live.account_cache` and :mod:`.feeds` (internal subscribers of the shared streams);
* :mod:`.wait`: the ``wait_for_event`` tool (conditions in :mod:`.conditions`);
* :mod:`.poll`: the ``read_stream`` tool (a long poll of any stream, for hosts that show no pushed notification).
"""

from __future__ import annotations

from dataclasses import dataclass

from tradingmcp.server.live.account_cache import AccountCache
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.live.account_streams import AccountStreams
from tradingmcp.server.tools.live.poll import StreamReader, register_read_tool
from tradingmcp.server.tools.live.resources import LiveResources
from tradingmcp.server.tools.live.wait import register_wait_tool
from tradingmcp.server.venues import Venues

__all__ = ["AccountCache", "AccountStreams", "Live", "LiveResources", "register_live_tools"]


@dataclass
class Live:
    """What :func:`register_live_tools` set up: per venue the account streams and account cache, and the resources."""

    streams: dict[str, AccountStreams]
    accounts: dict[str, AccountCache]
    resources: LiveResources
    reader: StreamReader

    async def close(self) -> None:
        """Stop the resources' internal market subscriptions and the account caches (server shutdown)."""
        self.reader.close()
        for market in self.resources.markets.values():
            market.feed.close()
        for cache in self.accounts.values():
            await cache.close()
        for streams in self.streams.values():
            streams.remove_listener()


def register_live_tools(app: McpApp, hub: StreamHub, venues: Venues) -> Live:
    """Register the account streams, live resources and ``wait_for_event`` for ``venues``.

    Call before the venues' user buses start (as :func:`~tradingmcp.server.tools.toolset.build_toolset` does) so that no
    account event is missed; the account caches seed themselves when each user data stream reports ``connected``.
    """
    streams = {v.name: AccountStreams(v, hub) for v in venues}
    accounts = {v.name: AccountCache(v) for v in venues}
    resources = LiveResources(hub, venues, accounts)
    resources.register(app)
    register_wait_tool(app, hub, venues)
    reader = register_read_tool(app, hub)
    return Live(streams, accounts, resources, reader)
