"""`gtm-synth`: the data factory that teaches a Generalist Tool Model how tools behave.

Two sources, one output format:

- **CARG** (Context-Aware Response Generation, the paper's pipeline): a teacher model behind any
  OpenAI-compatible endpoint grows a field taxonomy (stage 1), writes tool definitions (2), fills
  what imported tool sets lack (3), writes single-turn calls with their context and output (4),
  multi-turn episodes over groups of related tools (5) and error cases (6); every sample is
  checked (schemas deterministically, contradictions and coherence by a judge) and junk is counted
  and rejected, never written.
- **Recorded real traffic** (7): episodes planned over a real MCP server's tools (or tau-bench's
  real stateful tools behind an MCP wrapper), run against a fresh real world each, with every
  output stored exactly as the real tool returned it.

Every stage reads and writes JSONL (`gtm_mcp.contract.EpisodeRecord` lines for samples), resumes
where it stopped, and takes its randomness from one seed. `export` (8) renders everything with the
server's own prompt format (`gtm_mcp.contract.prompt.render_training_example`) into the layout of
docs/export-format.md, which `gtm-train` and `gtm-eval` read.

This package imports `gtm_mcp` only (never `training` or `coverage_analysis`).
"""

from __future__ import annotations

__all__: list[str] = []
