"""The MCP face of the simulator: protocol handlers, transports, admin routes, watched directories."""
