"""How often a mirrored server refuses and accepts the same calls as the real one: before checking
profiles (strict everywhere, what main did) and after (`--mirror` picks the real server's profile).

Real servers: the Python `MCPServer` and TypeScript (zod) test servers of tests/servers/, and the
pre-installed time, git (Python) and filesystem, memory (TypeScript) servers. Each call (valid,
borderline, invalid: tests/servers/profile_calls.py) goes to the real server over stdio and to
`gtm-mcp serve --mirror <it>` over streamable HTTP, once with `--check-profile strict` (before) and
once with the default `auto` (after). A call is "refused" when the answer is an argument refusal (a
real server's tool errors, such as an unknown time zone, are not). Printed per profile and call kind:

- agree: refused by both or by neither;
- same parameter: of the calls both refuse, the refusal names the same parameters;
- same words: of the calls both refuse, the refusal text is identical.

    .venv/bin/python benchmarks/profile_agreement.py      (needs scripts/setup_mcp_servers.sh; ~2 min)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from real_servers import filesystem_server, git_server, memory_server, time_server  # noqa: E402
from servers.profile_calls import (  # noqa: E402
    TEST_SERVER_CALLS,
    Call,
    preinstalled_calls,
    python_server_command,
    spec,
    typescript_server_command,
)

from gtm_mcp.calls.checking import refusal_parameters  # noqa: E402
from gtm_mcp.launch import serve_http  # noqa: E402
from gtm_mcp.tools.mirror_profile import classify_refusal  # noqa: E402

KINDS = ("valid", "borderline", "invalid")


@dataclass(frozen=True)
class Answer:
    refused: bool
    text: str


def _refusal(is_error: bool, text: str) -> bool:
    return is_error and (classify_refusal(text) is not None or text.startswith("Invalid arguments for tool"))


async def _answers(target: Any, calls: list[Call]) -> list[Answer]:
    from mcp import Client

    out = []
    async with Client(target) as client:
        for call in calls:
            result = await client.call_tool(call.tool, call.arguments)
            text = "".join(getattr(block, "text", "") for block in result.content)
            out.append(Answer(_refusal(bool(result.is_error), text), text))
    return out


@dataclass
class Tally:
    calls: int = 0
    agree: int = 0
    both_refuse: int = 0
    same_parameter: int = 0
    same_words: int = 0

    def add(self, real: Answer, simulated: Answer) -> None:
        self.calls += 1
        self.agree += real.refused == simulated.refused
        if real.refused and simulated.refused:
            self.both_refuse += 1
            self.same_parameter += refusal_parameters(real.text) == refusal_parameters(simulated.text)
            self.same_words += real.text == simulated.text

    def cells(self) -> list[str]:
        def pct(n: int, d: int) -> str:
            return f"{100 * n / d:.0f}% ({n}/{d})" if d else "-"

        return [pct(self.agree, self.calls), pct(self.same_parameter, self.both_refuse),
                pct(self.same_words, self.both_refuse)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="server names to run (python, typescript, time, git, filesystem, "
                        "memory)")
    args = parser.parse_args()
    from mcp import StdioServerParameters

    root = Path(tempfile.mkdtemp(prefix="profile-agreement-"))
    servers: dict[str, tuple[str, list[str], list[Call]]] = {
        "python": ("pydantic", python_server_command(), TEST_SERVER_CALLS),
        "typescript": ("zod", typescript_server_command(), TEST_SERVER_CALLS),
    }
    world_calls = preinstalled_calls(root)
    for name, server in (("time", time_server()), ("git", git_server(root)), ("filesystem", filesystem_server(root)),
                         ("memory", memory_server(root))):
        servers[name] = ("pydantic" if server.language == "python" else "zod", server.argv, world_calls[name])
    (root / "files" / "notes.txt").write_text("one\ntwo\n")

    tallies: dict[tuple[str, str, str], Tally] = defaultdict(Tally)
    for name, (profile, argv, calls) in servers.items():
        if args.only and name not in args.only:
            continue
        real = anyio.run(_answers, StdioServerParameters(command=argv[0], args=argv[1:]), calls)
        for when, flags in (("before", ["--check-profile", "strict"]), ("after", [])):
            with serve_http("--mirror", spec(argv), *flags, log=root / f"{name}-{when}.log") as mirror:
                simulated = anyio.run(_answers, mirror.url, calls)
            for call, r, s in zip(calls, real, simulated, strict=True):
                for kind in (call.kind, "all"):
                    tallies[(profile, kind, when)].add(r, s)
                    tallies[("all", kind, when)].add(r, s)
        print(f"{name}: {len(calls)} calls", file=sys.stderr)

    header = ["real servers", "calls", "before: agree", "before: same parameter", "before: same words",
              "after: agree", "after: same parameter", "after: same words"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for profile, label in (("pydantic", "Python SDK (pydantic)"), ("zod", "TypeScript SDK (zod)"), ("all", "all")):
        for kind in (*KINDS, "all"):
            before, after = tallies[(profile, kind, "before")], tallies[(profile, kind, "after")]
            if not before.calls:
                continue
            print("| " + " | ".join([f"{label}, {kind}", str(before.calls), *before.cells(), *after.cells()]) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
