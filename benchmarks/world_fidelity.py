"""Real MCP servers vs the simulator (schema backend) on stateful call sequences: the share of reads
that return what was written, the share of calls whose isError agrees with the real server, and the
share of value checks (time zone asked = reported, weekday of the date) that hold.

The real filesystem, memory, git and time servers (installed by scripts/setup_mcp_servers.sh) run
each sequence once, on a fresh world; `gtm-mcp serve --mirror` copies their tool lists and runs the
same sequences in one session each (declaring the real server's starting state as the session's
world). With `--baseline PATH` (another checkout, e.g. `git archive main | tar -x -C /tmp/base`)
the same runs against that code give a before/after table.

    python benchmarks/world_fidelity.py [--baseline /tmp/base] [--show]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the one place that knows how to start the real servers
from real_servers import filesystem_server, git_server, memory_server, time_server  # noqa: E402

from gtm_mcp.launch import free_port, spawned  # noqa: E402

WEEKDAYS = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}


@dataclass
class Step:
    tool: str
    arguments: dict[str, Any]
    expect: tuple[str, ...] = ()  # a read: its answer must hold these (what earlier calls wrote)
    absent: tuple[str, ...] = ()  # ... and must not hold these (deleted, moved away, replaced)
    capture: str | None = None  # a name for the first 40-hex hash of the answer ({sha}, {sha7} later)
    values: tuple[str, ...] = ()  # value checks on the answer (see check_values)

    @property
    def is_read(self) -> bool:
        return bool(self.expect or self.absent)


@dataclass
class Outcome:
    is_error: bool
    text: str
    structured: Any

    @property
    def everything(self) -> str:
        return self.text + "\n" + (json.dumps(self.structured, ensure_ascii=False) if self.structured else "")


@dataclass
class Scenario:
    name: str
    steps: list[Step]
    world: dict[str, Any] | None
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)


def scenarios(root: Path, init_sha: str) -> list[Scenario]:
    files, repo = str(root / "files"), {"repo_path": str(root / "repo")}
    fs = [
        Step("read_text_file", {"path": f"{files}/a.txt"}),
        Step("write_file", {"path": f"{files}/a.txt", "content": "hello world\nsecond line"}),
        Step("read_text_file", {"path": f"{files}/a.txt"}, expect=("hello world", "second line")),
        Step("list_directory", {"path": files}, expect=("a.txt",)),
        Step("get_file_info", {"path": f"{files}/a.txt"}, expect=("size: 23",)),
        Step("create_directory", {"path": f"{files}/sub"}),
        Step("write_file", {"path": f"{files}/sub/notes.md", "content": "# Notes"}),
        Step("move_file", {"source": f"{files}/a.txt", "destination": f"{files}/sub/b.txt"}),
        Step("read_text_file", {"path": f"{files}/a.txt"}),
        Step("read_text_file", {"path": f"{files}/sub/b.txt"}, expect=("hello world",)),
        Step("list_directory", {"path": f"{files}/sub"}, expect=("b.txt", "notes.md")),
        Step("edit_file", {"path": f"{files}/sub/b.txt", "edits": [{"oldText": "world", "newText": "there"}]}),
        Step("read_text_file", {"path": f"{files}/sub/b.txt"}, expect=("hello there",), absent=("hello world",)),
        Step("search_files", {"path": files, "pattern": "**/*.md"}, expect=("notes.md",)),
        Step("read_multiple_files", {"paths": [f"{files}/sub/b.txt", f"{files}/sub/zz.txt"]}, expect=("hello there",)),
        Step("list_directory", {"path": f"{files}/missing"}),
    ]
    ada = {"name": "Ada", "entityType": "person", "observations": ["likes tea"]}
    works = {"from": "Ada", "to": "Acme", "relationType": "works_at"}
    memory = [
        Step("open_nodes", {"names": ["Ada"]}),
        Step("create_entities", {"entities": [ada, {"name": "Acme", "entityType": "company", "observations": []}]}),
        Step("create_relations", {"relations": [works]}),
        Step("add_observations", {"observations": [{"entityName": "Ada", "contents": ["speaks French"]}]}),
        Step("add_observations", {"observations": [{"entityName": "Bob", "contents": ["x"]}]}),
        Step("read_graph", {}, expect=("likes tea", "speaks French", "Acme", "works_at")),
        Step("search_nodes", {"query": "French"}, expect=("Ada",)),
        Step("open_nodes", {"names": ["Acme"]}, expect=("company",)),
        Step("delete_observations", {"deletions": [{"entityName": "Ada", "observations": ["likes tea"]}]}),
        Step("delete_entities", {"entityNames": ["Acme"]}),
        Step("read_graph", {}, expect=("speaks French",), absent=("Acme", "likes tea")),
        Step("delete_relations", {"relations": [works]}),
    ]
    git = [
        Step("git_status", repo),
        Step("git_add", {**repo, "files": ["README.md"]}),
        Step("git_commit", {**repo, "message": "add readme"}, capture="sha"),
        Step("git_log", {**repo, "max_count": 5}, expect=("add readme", "init")),
        Step("git_show", {**repo, "revision": "{sha}"}, expect=("add readme",)),
        Step("git_show", {**repo, "revision": "deadbeef"}),
        Step("git_create_branch", {**repo, "branch_name": "feature"}),
        Step("git_checkout", {**repo, "branch_name": "feature"}),
        Step("git_branch", {**repo, "branch_type": "local"}, expect=("feature", "main")),
        Step("git_checkout", {**repo, "branch_name": "nope"}),
        Step("git_show", {**repo, "revision": "{sha7}"}, expect=("add readme",)),
    ]
    clock = [
        Step("get_current_time", {"timezone": "Asia/Tokyo"}, values=("zone:Asia/Tokyo", "weekday")),
        Step("get_current_time", {"timezone": "Mars/Olympus"}),
        Step("convert_time", {"source_timezone": "Europe/London", "time": "16:30",
                              "target_timezone": "America/New_York"},
             values=("zone:source=Europe/London", "zone:target=America/New_York", "same-instant", "weekday")),
        Step("convert_time", {"source_timezone": "UTC", "time": "25:30", "target_timezone": "UTC"}),
        Step("get_current_time", {"timezone": "Europe/Berlin"}, values=("zone:Europe/Berlin", "weekday")),
    ]
    return [
        Scenario("filesystem", fs, {"files": {f"{files}/": None}}),
        Scenario("memory", memory, {}),
        Scenario("git", git, {"files": {f"{repo['repo_path']}/README.md": "# Readme\n"},
                              "commits": [{"hash": init_sha, "message": "init"}], "branches": [{"name": "main"}]}),
        Scenario("time", clock, None),
    ]


def _objects(outcome: Outcome) -> list[dict[str, Any]]:
    """The answer's time objects: the structured content, or JSON text, or `key: value` lines."""
    value = outcome.structured
    if value is None:
        try:
            value = json.loads(outcome.text)
        except ValueError:
            value = dict(re.findall(r"^(\w+): (.+)$", outcome.text, re.MULTILINE))
    if not isinstance(value, dict):
        return []
    return [value, *[v for v in value.values() if isinstance(v, dict)]]


def check_values(step: Step, outcome: Outcome) -> list[bool]:
    """One result per value check of the step: the zone asked for is reported where it belongs, the
    weekday is that of the datetime next to it, a conversion names one instant."""
    if outcome.is_error:
        return [False] * len(step.values)
    objects = _objects(outcome)
    answer = objects[0] if objects else {}
    results = []
    for check in step.values:
        if check.startswith("zone:"):
            where, _, zone = check[5:].rpartition("=")
            target = answer.get(where) if where else answer
            results.append(isinstance(target, dict) and target.get("timezone") == zone)
        elif check == "weekday":
            timed = [o for o in objects if isinstance(o.get("datetime"), str)]
            good = bool(timed)
            for o in timed:
                try:
                    good &= datetime.fromisoformat(o["datetime"]).strftime("%A") == o.get("day_of_week")
                except ValueError:
                    good = False
            results.append(good)
        elif check == "same-instant":
            try:
                a, b = (datetime.fromisoformat(answer[k]["datetime"]) for k in ("source", "target"))
                results.append(a == b and a.strftime("%H:%M") == "16:30")
            except (KeyError, TypeError, ValueError):
                results.append(False)
    return results


async def run_sequence(client: Any, scenario: Scenario, meta: dict[str, Any] | None) -> list[Outcome]:
    captured: dict[str, str] = {}
    out = []
    for step in scenario.steps:
        arguments = json.loads(json.dumps(step.arguments).replace("{sha}", captured.get("sha", "0" * 40))
                               .replace("{sha7}", captured.get("sha", "0" * 7)[:7]))
        result = await client.call_tool(step.tool, arguments, meta=meta)
        text = "".join(getattr(c, "text", "") for c in result.content)
        outcome = Outcome(bool(result.is_error), text, result.structured_content)
        if step.capture:
            found = re.search(r"\b[0-9a-f]{40}\b", outcome.everything)
            if found:
                captured[step.capture] = found.group(0)
        out.append(outcome)
    return out


def run_real(argv: list[str], scenario: Scenario) -> list[Outcome]:
    from mcp import Client, StdioServerParameters

    async def main() -> list[Outcome]:
        async with Client(StdioServerParameters(command=argv[0], args=argv[1:])) as client:
            return await run_sequence(client, scenario, None)

    return anyio.run(main)


def run_simulated(url: str, scenario: Scenario, session: str) -> list[Outcome]:
    from mcp import Client

    async def main() -> list[Outcome]:
        async with Client(url) as client:
            meta: dict[str, Any] = {"gtm-mcp/session": session}
            if scenario.world is not None:
                meta["gtm-mcp/world"] = scenario.world
            return await run_sequence(client, scenario, meta)

    return anyio.run(main)


def score(scenario: Scenario, label: str) -> dict[str, float | int]:
    real, sim = scenario.outcomes["real"], scenario.outcomes[label]
    reads = [i for i, s in enumerate(scenario.steps) if s.is_read]
    read_ok = sum(1 for i in reads if not sim[i].is_error
                  and all(e in sim[i].everything for e in scenario.steps[i].expect)
                  and not any(a in sim[i].everything for a in scenario.steps[i].absent))
    agree = sum(1 for r, s in zip(real, sim, strict=True) if r.is_error == s.is_error)
    checks = [ok for step, outcome in zip(scenario.steps, sim, strict=True) for ok in check_values(step, outcome)]
    return {"steps": len(real), "reads": len(reads), "read_ok": read_ok, "agree": agree,
            "checks": len(checks), "checks_ok": sum(checks)}


def pct(n: int | float, d: int | float) -> str:
    return f"{100 * n / d:5.1f}%" if d else "   - "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", help="another checkout of gtm-mcp to compare with (before)")
    parser.add_argument("--show", action="store_true", help="print every step side by side")
    args = parser.parse_args()
    trees = {"after": REPO}
    if args.baseline:
        trees = {"before": Path(args.baseline).resolve(), **trees}
    root = Path(tempfile.mkdtemp(prefix="world-fidelity-"))
    real = {"filesystem": filesystem_server(root), "memory": memory_server(root), "git": git_server(root),
            "time": time_server()}
    (root / "repo" / "README.md").write_text("# Readme\n")
    init_sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root / "repo", capture_output=True, text=True,
                              check=True).stdout.strip()
    plan = scenarios(root, init_sha)
    for scenario in plan:
        scenario.outcomes["real"] = run_real(real[scenario.name].argv, scenario)
    mirrors = [a for server in real.values() for a in ("--mirror", server.spec)]
    for label, tree in trees.items():
        port = free_port()
        cmd = [sys.executable, "-m", "gtm_mcp", "serve", *mirrors, "--transport", "http", "--port", str(port),
               "--seed", "3", "--log-level", "WARNING"]
        with spawned(cmd, f"http://127.0.0.1:{port}/healthz", cwd=tree, env={"PYTHONPATH": str(tree)},
                     log=root / f"{label}.log", ready_s=120):
            for scenario in plan:
                scenario.outcomes[label] = run_simulated(f"http://127.0.0.1:{port}/mcp", scenario, scenario.name)
    labels = list(trees)
    if args.show:
        for scenario in plan:
            print(f"\n## {scenario.name}")
            for i, step in enumerate(scenario.steps):
                print(f"\n{i + 1}. {step.tool} {json.dumps(step.arguments, ensure_ascii=False)[:110]}")
                for label in ("real", *labels):
                    o = scenario.outcomes[label][i]
                    shown = (o.text if o.structured is None or label == "real" else json.dumps(o.structured))[:160]
                    print(f"   {label:6s} {'ERROR ' if o.is_error else ''}{shown!r}")
    header = (f"{'server':11s} {'calls':>5s} {'reads':>5s} "
              + " ".join(f"{'reads ok ' + label:>16s}" for label in ("real", *labels))
              + " " + " ".join(f"{'isError agrees ' + label:>21s}" for label in labels)
              + " " + " ".join(f"{'values ok ' + label:>16s}" for label in labels))
    print("\n" + header)
    totals: dict[str, dict[str, int]] = {}
    for scenario in plan:
        scores = {label: score(scenario, label) for label in ("real", *labels)}
        for label, s in scores.items():
            for k, v in s.items():
                totals.setdefault(label, {}).setdefault(k, 0)
                totals[label][k] += int(v)
        print(_row(scenario.name, scores, labels))
    print(_row("all", totals, labels))
    print(f"\n(real servers' own reads are the sanity check; worlds under {root})")
    return 0


def _row(name: str, scores: dict[str, Any], labels: list[str]) -> str:
    real = scores["real"]
    return (f"{name:11s} {real['steps']:5d} {real['reads']:5d} "
            + " ".join(f"{pct(scores[label]['read_ok'], real['reads']):>16s}" for label in ("real", *labels))
            + " " + " ".join(f"{pct(scores[label]['agree'], real['steps']):>21s}" for label in labels)
            + " " + " ".join(f"{pct(scores[label]['checks_ok'], scores[label]['checks']):>16s}" for label in labels))


if __name__ == "__main__":
    sys.exit(main())
