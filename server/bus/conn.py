"""One connection to the bus: connecting (one clear error naming the URL when it cannot), the JetStream streams that
hold the replay window, and what ``/health`` and ``/metrics`` report of it.

A connection that drops is re-made by the NATS client for as long as the process runs; while it is down
:attr:`BusLink.connected` is False (``/health`` says ``degraded``) and publishes wait in the client's buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from tradingmcp.server.bus.config import ACCOUNT_STREAM, MARKET_STREAM, SIGNAL_STREAM, BusConfig
from tradingmcp.server.bus.subjects import ACCOUNT_PREFIX, MARKET_PREFIX, SIGNAL_PREFIX

log = logging.getLogger("tradingmcp.server.bus")


class BusUnreachable(Exception):
    """The bus cannot be reached (or refused the login) at start-up: ``cannot reach the bus at URL: <cause>``; the URL
    is shown without credentials."""

    def __init__(self, config: BusConfig, cause: BaseException) -> None:
        self.url = config.display_url
        text = str(cause) or type(cause).__name__
        # never echo a credential the cause might carry
        for secret in (config.password, config.token):
            if secret:
                text = text.replace(secret, "***")
        super().__init__(f"cannot reach the bus at {self.url}: {type(cause).__name__}: {text}")


class BusLink:
    """A connected NATS client with its JetStream context, named ``name`` on the server (``feed``, ``gateway``...).

    ``await BusLink.connect(config, name)`` … ``await link.close()``. :attr:`drops` counts malformed or foreign
    messages dropped, by subject kind (``md``, ``acct``, ``rpc``); :attr:`disconnects` how often the link went down.
    """

    def __init__(self, config: BusConfig, name: str) -> None:
        self.config = config
        self.name = name
        self.nc = Client()
        self.connected = False
        self.disconnects = 0
        self.down_since: float | None = None
        self.drops: Counter[str] = Counter()
        self.reconnected = asyncio.Event()

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream()

    def _options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"servers": [self.config.url], "name": f"tradingmcp-{self.name}"}
        if self.config.user is not None:
            opts["user"] = self.config.user
            opts["password"] = self.config.password or ""
        if self.config.token is not None:
            opts["token"] = self.config.token
        return opts

    @classmethod
    async def connect(cls, config: BusConfig, name: str, timeout_s: float = 3.0) -> BusLink:
        """Connect (a first attempt that fails is :class:`BusUnreachable`), then stay connected: every later drop is
        re-connected in the background.

        Raises:
            BusUnreachable: no server at the URL, or it refused the credentials.
        """
        link = cls(config, name)
        probe = Client()
        seen: list[Exception] = []

        async def remember(exc: Exception) -> None:  # the probe's last failure is the cause to show
            seen.append(exc)

        try:
            await probe.connect(
                **link._options(),
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0,
                connect_timeout=max(1, int(timeout_s)),
                error_cb=remember,
            )
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            raise BusUnreachable(config, seen[-1] if seen else exc) from None
        finally:
            with contextlib.suppress(Exception):
                await probe.close()
        try:
            await link.nc.connect(
                **link._options(),
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
                connect_timeout=max(1, int(timeout_s)),
                error_cb=link._on_error,
                disconnected_cb=link._on_disconnected,
                reconnected_cb=link._on_reconnected,
            )
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            raise BusUnreachable(config, exc) from None
        link.connected = True
        return link

    async def _on_error(self, exc: Exception) -> None:
        # the client reports every failed reconnect attempt: one line each, without credentials (never the URL)
        log.warning("bus %s: %s", self.name, type(exc).__name__)

    async def _on_disconnected(self) -> None:
        if self.connected:
            self.connected = False
            self.disconnects += 1
            self.down_since = time.monotonic()
            self.reconnected.clear()
            log.warning("bus %s: disconnected from %s; reconnecting", self.name, self.config.display_url)

    async def _on_reconnected(self) -> None:
        self.connected = True
        self.down_since = None
        self.reconnected.set()
        log.warning("bus %s: reconnected to %s", self.name, self.config.display_url)

    def drop(self, kind: str, subject: str, why: str) -> None:
        """Count and log one malformed or foreign message (never raises)."""
        self.drops[kind] += 1
        log.warning("bus %s: dropped a message on %s: %s", self.name, subject[:120], why[:200])

    def health(self) -> dict[str, Any]:
        """``{url, connected, disconnects, down_s, dropped}`` for ``/health``."""
        return {
            "url": self.config.display_url,
            "connected": self.connected,
            "disconnects": self.disconnects,
            "down_s": round(time.monotonic() - self.down_since, 3) if self.down_since is not None else 0,
            "dropped": dict(self.drops),
        }

    async def ensure_streams(self) -> None:
        """Create (or bring to this configuration) the market, account and signal JetStream streams: one replay window per
        subject, bounded by age and count, the oldest message discarded first."""
        storage = StorageType.FILE if self.config.file_storage else StorageType.MEMORY
        streams = ((MARKET_STREAM, MARKET_PREFIX), (ACCOUNT_STREAM, ACCOUNT_PREFIX), (SIGNAL_STREAM, SIGNAL_PREFIX))
        for name, prefix in streams:
            cfg = StreamConfig(
                name=name,
                subjects=[f"{prefix}.>"],
                storage=storage,
                max_age=self.config.retention_s,
                max_msgs_per_subject=self.config.retention_msgs,
                discard=DiscardPolicy.OLD,
                allow_direct=True,
            )
            try:
                await self.js.add_stream(cfg)
            except BadRequestError:  # it exists with another configuration: bring it to this one
                await self.js.update_stream(cfg)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.nc.drain()
        with contextlib.suppress(Exception):
            await self.nc.close()
        self.connected = False
