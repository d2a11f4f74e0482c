"""Which real MCP tools a Generalist Tool Model covers: overlap numbers, exclusive regions, a t-SNE map.

Entry point: `gtm-coverage` (`coverage_analysis.cli:main`); the whole run is `pipeline.run(config)`.
Heavy libraries (sentence-transformers, torch, scikit-learn, matplotlib) are imported lazily.
"""

from __future__ import annotations

__all__ = ["CoverageInputError"]


class CoverageInputError(ValueError):
    """The inputs cannot be analysed (missing file, no tools, broken definitions under --strict).

    The message names the file, the tool and the JSON pointer where the source says so.
    """
