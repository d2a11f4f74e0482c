"""Stage 8: the export (docs/export-format.md): SFT records rendered with the server's prompt
format, split by tool, held-out episodes of recorded tools, and the dataset card."""

from synthesis.export.writer import ExportSettings, export

__all__ = ["ExportSettings", "export"]
