"""`python -m coverage_analysis` = `gtm-coverage`."""

from __future__ import annotations

from coverage_analysis.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
