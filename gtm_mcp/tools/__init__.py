"""Tools in the server: importers of every format (formats/), the loader, the catalog, mirroring.
The definition itself lives in `gtm_mcp.contract`."""

from gtm_mcp.contract import DuplicateToolError, Origin, ToolDefinition, ToolLoadError, ToolProblem
from gtm_mcp.tools.loader import load_lenient, load_tools, parse_document

__all__ = ["DuplicateToolError", "Origin", "ToolDefinition", "ToolLoadError", "ToolProblem", "load_lenient",
           "load_tools", "parse_document"]
