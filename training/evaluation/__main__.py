"""`python -m training.evaluation` = `gtm-eval`."""

from __future__ import annotations

import sys

from training.evaluation.cli import main

if __name__ == "__main__":
    sys.exit(main())
