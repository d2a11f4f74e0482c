"""`python -m synthesis ...` is `gtm-synth ...`."""

from __future__ import annotations

import sys

from synthesis.cli import main

if __name__ == "__main__":
    sys.exit(main())
