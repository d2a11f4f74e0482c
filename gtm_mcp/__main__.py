import sys

from gtm_mcp.cli import main

sys.exit(main())
