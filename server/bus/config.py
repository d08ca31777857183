"""Where the bus is, how to log in, and how long it keeps stream messages.

Credentials never travel in logs: :meth:`BusConfig.display_url` is the URL without user or password, and
:meth:`BusConfig.from_env` takes them from ``TRADINGMCP_BUS_USER`` / ``TRADINGMCP_BUS_PASSWORD`` or
``TRADINGMCP_BUS_TOKEN`` (a NATS auth token) when the URL carries none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

DEFAULT_RETENTION_S = 600.0
"""How long the bus keeps each stream message (s): the replay window by age (at least 5 minutes)."""
DEFAULT_RETENTION_MSGS = 100_000
"""Most messages the bus keeps per subject: the replay window by count."""
MARKET_STREAM = "TMCP_MD"
"""The JetStream stream of market data (subjects ``tmcp.md.>``)."""
ACCOUNT_STREAM = "TMCP_ACCT"
"""The JetStream stream of account events (subjects ``tmcp.acct.>``)."""
SIGNAL_STREAM = "TMCP_SIG"
"""The JetStream stream of webhook signals (subjects ``tmcp.sig.>``)."""
LEASE_BUCKET = "tmcp_trader_lease"
"""The KV bucket of trader leases (one key per account)."""


@dataclass(frozen=True)
class BusConfig:
    """``url``: ``nats://host:port`` (may carry ``user:password@``); ``user``/``password``/``token``: credentials
    when the URL has none; ``retention_s``/``retention_msgs``: the replay window per subject (age in s, count);
    ``file_storage``: keep stream messages on the server's disk (they survive a bus restart) rather than in memory;
    ``request_timeout_s``: how long a gateway waits for a trader's answer (s); ``lease_ttl_s``: how long a trader's
    lease lives without renewal (s), the bound on a failover.
    """

    url: str
    user: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    retention_s: float = DEFAULT_RETENTION_S
    retention_msgs: int = DEFAULT_RETENTION_MSGS
    file_storage: bool = True
    request_timeout_s: float = 10.0
    lease_ttl_s: float = 3.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("nats", "tls") or not parts.hostname:
            raise ValueError(f"--bus must be nats://host:port, got {self.display_url!r}")
        if self.retention_s <= 0 or self.retention_msgs <= 0:
            raise ValueError("bus retention must be positive (seconds and messages)")
        if self.lease_ttl_s <= 0 or self.request_timeout_s <= 0:
            raise ValueError("bus lease TTL and request timeout must be positive")

    @property
    def display_url(self) -> str:
        """The URL without credentials (what logs and errors show)."""
        try:
            parts = urlsplit(self.url)
            host = parts.hostname or ""
            netloc = f"{host}:{parts.port}" if parts.port else host
            return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        except ValueError:
            return "<unparseable bus URL>"

    @classmethod
    def from_env(cls, url: str, environ: Mapping[str, str], **kwargs: object) -> BusConfig:
        """``url`` with credentials from ``TRADINGMCP_BUS_USER``/``TRADINGMCP_BUS_PASSWORD``/``TRADINGMCP_BUS_TOKEN``
        and the window from ``TRADINGMCP_BUS_RETENTION_S``/``TRADINGMCP_BUS_RETENTION_MSGS`` (``kwargs`` win).

        Raises:
            ValueError: a malformed URL or number.
        """
        values: dict[str, object] = {
            "user": environ.get("TRADINGMCP_BUS_USER") or None,
            "password": environ.get("TRADINGMCP_BUS_PASSWORD") or None,
            "token": environ.get("TRADINGMCP_BUS_TOKEN") or None,
        }
        for name, key, kind in (
            ("retention_s", "TRADINGMCP_BUS_RETENTION_S", float),
            ("retention_msgs", "TRADINGMCP_BUS_RETENTION_MSGS", int),
        ):
            raw = environ.get(key)
            if raw:
                try:
                    values[name] = kind(raw)
                except ValueError:
                    raise ValueError(f"{key} must be a number, got {raw[:40]!r}") from None
        values.update(kwargs)
        return cls(url, **values)  # type: ignore[arg-type]
