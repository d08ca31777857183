"""The MCP protocol engine (sans-I/O), the registry of tools/resources, and live streams."""
