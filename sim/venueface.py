"""``VenueFace``: what the simulator's Bybit and MEXC faces do alike over a running
:class:`~tradingmcp.sim.app.Simulator`.

A face is its own aiohttp server on loopback; its API keys are engine accounts with the simulator's balances; it taps
the simulator's market frames (re-encoded by the face's push builder, whose dirty books and trades are flushed once
per loop turn) and engine events, and unhooks and cuts every connection on stop. A venue's face subclasses it with
its frame type (``str`` for JSON, ``bytes`` for protobuf), builds ``hub`` and ``market`` and supplies the hooks
``_routes``, ``_on_events`` and, when it has more connections to cut, ``_cut_more``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, Protocol, Self, TypeVar

from aiohttp import web

from tradingmcp.sim.app import Simulator
from tradingmcp.sim.http import start_http

F = TypeVar("F")
F_co = TypeVar("F_co", covariant=True)
F_contra = TypeVar("F_contra", contravariant=True)


@dataclass(frozen=True, kw_only=True)
class FaceSettings:
    """What every face is served with (a venue's face config adds its own limits).

    Attributes:
        host: listen address (loopback).
        port: listen port; 0 picks a free one.
        api_keys: ``{api_key: secret}``; each gets an engine account with the simulator's ``balances`` (a venue's
            config defaults to its dev key).
        hang_s: how long the ``hang_after`` test fault holds an answer (s).
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_keys: Mapping[str, str] = field(default_factory=dict)
    hang_s: float = 1.0


class FacePushes(Protocol[F_co]):
    """A face's market push builder: ``(topic, frame)`` pairs from the simulator's Binance-shaped frames."""

    @property
    def dirty(self) -> bool: ...

    def on_frame(self, stream: str, payload: dict[str, Any]) -> Sequence[tuple[str, F_co]]: ...

    def flush(self) -> Sequence[tuple[str, F_co]]: ...


class FaceHub(Protocol[F_contra]):
    """A face's WebSocket subscriptions."""

    def publish(self, topic: str, frame: F_contra, api_key: str | None = None) -> int: ...

    async def cut(self) -> None: ...


class VenueFace(Generic[F]):
    """The shared part of a venue face (see the module docstring).

    Args:
        sim: the running simulator.
        config: host, port and API keys; each key without an engine account gets one with ``sim.config.balances``.
    """

    hub: FaceHub[F]
    market: FacePushes[F]

    def __init__(self, sim: Simulator, config: FaceSettings) -> None:
        self.sim = sim
        for key in config.api_keys:
            if not sim.engine.has_account(key):
                sim.engine.add_account(key, {a: Decimal(v) for a, v in sim.config.balances.items()})
        self._face_config = config
        self._flush_scheduled = False
        self._runner: web.AppRunner | None = None
        self._port = 0

    # ---- hooks -----------------------------------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        """Add the face's REST and WebSocket routes to ``app``."""
        raise NotImplementedError

    def _on_events(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Push the engine's ``(api_key, event)`` pairs to the face's private streams."""
        raise NotImplementedError

    async def _cut_more(self) -> None:
        """Close the face's connections other than ``hub``'s."""

    # ---- urls ------------------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        return self._port

    @property
    def rest_url(self) -> str:
        """REST base without the venue's path prefix (``http://host:port``)."""
        return f"http://{self._face_config.host}:{self._port}"

    # ---- taps ------------------------------------------------------------------------------------------------------

    def _on_market(self, stream: str, payload: dict[str, Any]) -> None:
        self._send(self.market.on_frame(stream, payload))
        if self.market.dirty and not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._send(self.market.flush())

    def _send(self, pushes: Sequence[tuple[str, F]], api_key: str | None = None) -> None:
        for topic, frame in pushes:
            self.hub.publish(topic, frame, api_key)

    # ---- lifecycle -------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Hook into the simulator and bind the port."""
        app = web.Application()
        self._routes(app)
        self._runner, self._port = await start_http(app, self._face_config.host, self._face_config.port)
        self.sim.market_taps.append(self._on_market)
        self.sim.event_taps.append(self._on_events)

    async def stop(self) -> None:
        """Unhook and close every connection."""
        if self._on_market in self.sim.market_taps:
            self.sim.market_taps.remove(self._on_market)
        if self._on_events in self.sim.event_taps:
            self.sim.event_taps.remove(self._on_events)
        await self.hub.cut()
        await self._cut_more()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
