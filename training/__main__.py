"""`python -m training` = `gtm-train` (also what `accelerate launch -m training sft ...` runs)."""

from __future__ import annotations

import sys

from training.cli import main

if __name__ == "__main__":
    sys.exit(main())
