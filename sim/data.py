"""Where the real recorded market data lives (never copied into this repository).

Resolution order for the data root (the folder holding ``binance/`` and ``mexc/``, see its README):

1. an explicit path (a ``--data`` option);
2. the ``TRADINGMCP_DATA`` environment variable;
3. ``../shared/data`` beside the repository checkout (found from this file and from the working directory).

Raises:
    DataNotFoundError: when no candidate exists. Callers that can run without a recording (the simulator's
        synthetic market) catch it; tests that need real data let it fail loudly.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "TRADINGMCP_DATA"


class DataNotFoundError(FileNotFoundError):
    """The real data folder could not be found; the message lists every place searched."""


def _candidates(explicit: str | os.PathLike[str] | None) -> list[Path]:
    out: list[Path] = []
    if explicit:
        return [Path(explicit)]
    env = os.environ.get(ENV_VAR)
    if env:
        return [Path(env)]
    here = Path(__file__).resolve()
    for parent in here.parents:
        out.append(parent / "shared" / "data")
        if (parent / "pyproject.toml").exists():
            out.append(parent.parent / "shared" / "data")
            break
    cwd = Path.cwd()
    out += [cwd.parent / "shared" / "data", cwd / "shared" / "data"]
    return out


def data_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the data root folder.

    Args:
        explicit: a path given on the command line, or None.

    Returns:
        The existing folder (contains ``README.md``, ``binance/``, ``mexc/``).

    Raises:
        DataNotFoundError: no candidate folder exists.
    """
    tried = _candidates(explicit)
    for path in tried:
        if (path / "binance").is_dir():
            return path
    raise DataNotFoundError(
        "real market data not found; set TRADINGMCP_DATA or pass --data. Tried: " + ", ".join(map(str, tried))
    )


def binance_recordings(symbol: str, root: Path | None = None) -> list[Path]:
    """Recorded Binance files for ``symbol`` (e.g. ``"BTCUSDT"``) in replay order (``<ns> <json>`` lines, gzip).

    Raises:
        DataNotFoundError: no data root, or no recording for that symbol.
    """
    base = (root or data_root()) / "binance" / "recorded"
    files = sorted(base.glob(f"binance_spot_{symbol.lower()}_*.gz"))
    if not files:
        raise DataNotFoundError(f"no recording for {symbol} under {base}")
    return files
