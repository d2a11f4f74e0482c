"""GTM-MCP: an MCP server that simulates any tool with a Generalist Tool Model."""

from gtm_mcp.tools import ToolDefinition, ToolLoadError, load_tools

__version__ = "0.1.0"
__all__ = ["ToolDefinition", "ToolLoadError", "__version__", "load_tools"]
