"""`python -m gtm_mcp.models NAME`: convert packaged model NAME (once) and print its folder."""

from __future__ import annotations

import argparse
import logging
import sys

from gtm_mcp.models.packaged import PACKAGED, ModelNotFoundError, packaged_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gtm_mcp.models", description=__doc__)
    parser.add_argument("name", choices=sorted(PACKAGED))
    parser.add_argument("--refresh", action="store_true", help="convert again even if cached")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    try:
        print(packaged_model(args.name, refresh=args.refresh))
    except ModelNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
