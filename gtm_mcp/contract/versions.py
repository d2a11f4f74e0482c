"""Version tags of the contract's file and prompt formats (bumped on any incompatible change)."""

#: How calls become chat messages and answers are read back (gtm_mcp.contract.prompt).
PROMPT_FORMAT_VERSION = "gtm-prompt/2"
#: One episode as a JSON line (gtm_mcp.contract.records.EpisodeRecord).
EPISODE_FORMAT_VERSION = "gtm-episode/1"
