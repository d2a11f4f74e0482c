"""Print the MCP conformance table: every server scenario of the official suite against
`gtm-mcp serve --transport http` with the default tools, with the suite's reference server given as
definitions, and as a mirror of a real server (server-everything, also run for comparison).

    .venv/bin/python scripts/conformance_table.py                # this checkout
    .venv/bin/python scripts/conformance_table.py --code /work/main   # another checkout's gtm_mcp

Needs `scripts/setup_mcp_servers.sh` (Node 22, the suite, server-everything).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conformance import NEEDS_REFERENCE, NOT_APPLICABLE, run_suite, scenario_names  # noqa: E402
from real_servers import NODE_BIN  # noqa: E402

from gtm_mcp.launch import free_port, spawned  # noqa: E402

EXAMPLES = REPO / "gtm_mcp" / "examples" / "tools.json"
REFERENCE = REPO / "tests" / "gtm_mcp" / "surface" / "conformance_reference.json"


def cell(result, *, reference: bool) -> str:
    if result.passed:
        return "pass" + (f" ({len(result.warnings)} warnings)" if result.warnings else "")
    if result.name in NOT_APPLICABLE:
        return "n.a. (calls back into the client)"
    if not reference and result.name in NEEDS_REFERENCE:
        return "n.a. (names a reference tool/resource/prompt)"
    return "FAIL: " + "; ".join(result.failures)[:90].replace("|", "/")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", default=str(REPO), help="checkout whose gtm_mcp serves (default: this one)")
    args = parser.parse_args()
    env = {"PYTHONPATH": os.path.abspath(args.code), "PYTHONDONTWRITEBYTECODE": "1"}
    columns: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        out = Path(tmp)
        port = free_port()
        real = f"http://127.0.0.1:{port}/mcp"
        stack.enter_context(spawned([str(NODE_BIN / "mcp-server-everything"), "streamableHttp"], real,
                                    env={"PORT": str(port)}))
        configs = {"default tools": [], "default + reference definitions": ["--tools", str(EXAMPLES), str(REFERENCE)],
                   "mirror of server-everything": ["--mirror", real]}
        for name, flags in configs.items():
            port = free_port()
            cmd = [sys.executable, "-m", "gtm_mcp", "serve", *flags, "--transport", "http", "--port", str(port)]
            # run from the checkout itself: `python -m` puts the working directory first on the path
            with spawned(cmd, f"http://127.0.0.1:{port}/healthz", env=env, cwd=args.code,
                         log=out / f"{len(columns)}.log"):
                columns[name] = run_suite(f"http://127.0.0.1:{port}/mcp", out / f"suite-{len(columns)}")
            print(f"ran {name}", file=sys.stderr)
        columns["server-everything itself"] = run_suite(real, out / "suite-real")
    names = list(columns)
    print("| scenario | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for scenario in scenario_names():
        cells = [cell(columns[n][scenario], reference=n.startswith("default +")) for n in names]
        print(f"| {scenario} | " + " | ".join(cells) + " |")
    for n in names:
        passed = sum(r.passed for r in columns[n].values())
        print(f"{n}: {passed}/{len(columns[n])} passed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
