"""The official mcp SDK server used as the comparison point: an ``MCPServer`` with the same ``echo`` tool.

``python -m tradingmcp.benchmarks.sdk_server`` serves it over stdio (the SDK client launches it with
``StdioServerParameters``); :func:`tradingmcp.benchmarks.servers.sdk_http` serves it over Streamable HTTP.
"""

from __future__ import annotations

import logging

import anyio
from mcp.server.mcpserver import MCPServer


def build_sdk_app() -> MCPServer:
    """An SDK ``MCPServer`` exposing ``echo(text: str) -> str``."""
    app: MCPServer = MCPServer("sdk-bench", log_level="WARNING")

    @app.tool(description="Echo the text argument back (benchmark).")
    def echo(text: str) -> str:
        return text

    return app


def main() -> None:
    """Serve over stdio until stdin closes."""
    logging.basicConfig(level=logging.WARNING)
    anyio.run(build_sdk_app().run_stdio_async, backend_options={"use_uvloop": True})


if __name__ == "__main__":
    main()
