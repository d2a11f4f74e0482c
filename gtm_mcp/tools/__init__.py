"""Tool definitions: the shared model, the importers and the loader."""

from gtm_mcp.tools.definition import ToolDefinition
from gtm_mcp.tools.errors import DuplicateToolError, ToolLoadError, ToolProblem
from gtm_mcp.tools.loader import load_lenient, load_tools, parse_document

__all__ = ["DuplicateToolError", "ToolDefinition", "ToolLoadError", "ToolProblem", "load_lenient",
           "load_tools", "parse_document"]
