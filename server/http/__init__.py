"""The plain-HTTP side of the MCP port: Streamable HTTP (:mod:`.mcp`) on the engine the WebSocket face drives, the
guard every request passes (:mod:`.guard`), and the aiohttp application with its route seam (:mod:`.app`)."""
