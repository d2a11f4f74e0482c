"""The contract every package of the project shares, importable without a server or a backend.

- the tool definition with its origin (`ToolDefinition`, `Origin`) and JSON Schema checks;
- calls and episodes (`ToolOutput`, `CallRecord`, `SimulationRequest`, `EpisodeRecord`): what the
  server records, synthesis emits, training reads and an RL environment replays;
- the rest of an MCP server's surface (`ResourceDefinition`, `ResourceTemplateDefinition`,
  `PromptDefinition`, `SurfaceDefinitions`) and a tool's non-text output content (`ContentSpec`);
- the prompt format with its token budget and answer parser (`gtm_mcp.contract.prompt`).

This package imports nothing from `gtm_mcp.server`, `calls`, `sessions` or `backends`; they, and
`synthesis`, `training`, `coverage_analysis` and `examples`, import it.
"""

from gtm_mcp.contract.definition import NAME_PATTERN, Origin, ToolDefinition, checked
from gtm_mcp.contract.errors import DuplicateToolError, ToolLoadError, ToolProblem, json_pointer
from gtm_mcp.contract.records import CallRecord, EpisodeRecord, Repair, SimulationRequest, ToolOutput
from gtm_mcp.contract.schemas import schema_problems, validator_class_for
from gtm_mcp.contract.surface import (
    ContentSpec,
    PromptArgumentDefinition,
    PromptDefinition,
    PromptMessageTemplate,
    PromptRecording,
    ResourceContent,
    ResourceDefinition,
    ResourceRead,
    ResourceTemplateDefinition,
    SurfaceDefinitions,
)
from gtm_mcp.contract.versions import EPISODE_FORMAT_VERSION, PROMPT_FORMAT_VERSION

__all__ = ["EPISODE_FORMAT_VERSION", "NAME_PATTERN", "PROMPT_FORMAT_VERSION", "CallRecord", "ContentSpec",
           "DuplicateToolError", "EpisodeRecord", "Origin", "PromptArgumentDefinition", "PromptDefinition",
           "PromptMessageTemplate", "PromptRecording", "Repair", "ResourceContent", "ResourceDefinition",
           "ResourceRead", "ResourceTemplateDefinition", "SimulationRequest", "SurfaceDefinitions", "ToolDefinition",
           "ToolLoadError", "ToolOutput", "ToolProblem", "checked", "json_pointer", "schema_problems",
           "validator_class_for"]
