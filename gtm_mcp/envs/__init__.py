"""RL environments and framework adapters over the simulator.

- `ToolEnv`, `VectorToolEnv`: gym-style `reset`/`step` in-process, no HTTP (`tool_env`).
- `verl`: a veRL tool class keyed on the rollout, and the veRL-compatible tool-list export.
"""

from gtm_mcp.envs.tool_env import ActionError, Episode, ToolEnv, VectorToolEnv, parse_action

__all__ = ["ActionError", "Episode", "ToolEnv", "VectorToolEnv", "parse_action"]
