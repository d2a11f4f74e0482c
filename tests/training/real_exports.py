"""Small real synthesis exports for the training tests, in the layout of docs/export-format.md.

The episodes are REAL tool traffic: tau-bench's retail tools (Python implementations over its JSON
database, ../shared/data/tau-bench) replayed in-process with the gold actions of its test tasks, on
a fresh copy of the database per episode. Every output, structured, text or `Error: ...`, is what
the real tool returned. SFT records are rendered with `render_training_example`, as `gtm-synth
export` renders them; splits are by tool (held-out tools) plus held-out episodes of training tools.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
import types
from functools import cache
from pathlib import Path
from typing import Any

from conftest import DATA, need

from gtm_mcp.contract import CallRecord, EpisodeRecord, ToolDefinition
from gtm_mcp.contract.prompt import render_training_example
from gtm_mcp.tools.loader import parse_document

TAU = DATA / "tau-bench"
#: held-out tools (the export's test split) and validation tools: never trained on
TEST_TOOLS = ("modify_pending_order_address", "modify_user_address", "cancel_pending_order")
VALIDATION_TOOLS = ("find_user_id_by_email", "calculate")


@cache
def _tau(domain: str = "retail") -> tuple[list[Any], Any, list[Any]]:
    """(ALL_TOOLS, load_data, TASKS_TEST) of a tau-bench domain (retail, airline), imported without
    its LLM user simulator (litellm): the packages whose __init__ import it are registered empty."""
    root = need(TAU)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    for name, folder in (("tau_bench", "tau_bench"), ("tau_bench.envs", "tau_bench/envs"),
                         (f"tau_bench.envs.{domain}", f"tau_bench/envs/{domain}")):
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [str(root / folder)]
            sys.modules[name] = module
    tools = importlib.import_module(f"tau_bench.envs.{domain}.tools").ALL_TOOLS
    load_data = importlib.import_module(f"tau_bench.envs.{domain}.data").load_data
    module = importlib.import_module(f"tau_bench.envs.{domain}.tasks_test")
    tasks = getattr(module, "TASKS_TEST", None) or module.TASKS  # airline names it TASKS
    return tools, load_data, tasks


@cache
def domain_tools(domain: str = "retail") -> dict[str, ToolDefinition]:
    """A domain's real tool definitions, through the project's OpenAI-format importer."""
    classes, _, _ = _tau(domain)
    parsed, problems = parse_document([c.get_info() for c in classes], f"tau-bench/{domain}", "openai")
    assert not problems, problems
    return {t.name: t.model_copy(update={"server": f"tau-bench-{domain}"}) for t in parsed}


def retail_tools() -> dict[str, ToolDefinition]:
    return domain_tools("retail")


@cache
def _database(domain: str) -> dict[str, Any]:
    return _tau(domain)[1]()


def _outcome(text: str) -> tuple[Any, bool]:
    if text.startswith("Error:"):
        return text.removeprefix("Error:").strip(), True
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text, False
    return (value, False) if isinstance(value, dict) else (text, False)


def run_calls(domain: str, actions: list[tuple[str, dict[str, Any]]], episode_id: str,
              meta: dict[str, Any] | None = None) -> EpisodeRecord:
    """An episode of `actions` (tool name, arguments) run in order against the real tools of a
    tau-bench domain, on a fresh copy of its database."""
    classes, _, _ = _tau(domain)
    by_name = {c.get_info()["function"]["name"]: c for c in classes}
    data = copy.deepcopy(_database(domain))
    definitions = domain_tools(domain)
    calls: list[CallRecord] = []
    used: list[str] = []
    for name, kwargs in actions:
        tool = by_name.get(name)
        if tool is None:
            continue
        try:
            text = tool.invoke(data, **kwargs)
        except Exception as e:  # a real failure of the real tool is its real answer
            text = f"Error: {e}"
        result, is_error = _outcome(text)
        calls.append(CallRecord(name, dict(kwargs), result, is_error, "real"))
        if name not in used:
            used.append(name)
    return EpisodeRecord(id=episode_id, tools=[definitions[n] for n in used], calls=calls,
                         source=f"tau-bench:{domain}", meta=meta or {})


def tau_task(domain: str, task_index: int) -> Any:
    return _tau(domain)[2][task_index]


def replay(task_index: int, domain: str = "retail") -> EpisodeRecord:
    """One tau-bench test task's gold actions run against the real tools of its domain."""
    task = tau_task(domain, task_index)
    return run_calls(domain, [(a.name, a.kwargs) for a in task.actions], f"tau-{domain}-test-{task_index}",
                     {"task": task_index, "user_id": task.user_id})


def sft_records(episode: EpisodeRecord, split_of: dict[str, str], *, heldout: bool = False) -> list[dict[str, Any]]:
    records = []
    for request, call in episode.steps():
        split = "heldout_episodes" if heldout else split_of.get(call.tool, "train")
        example = render_training_example(request, call.output)
        records.append({"messages": example["messages"], "format": example["format"], "kind": "recorded",
                        "tool": call.tool, "source": episode.source, "episode_id": episode.id, "split": split,
                        "is_error": call.is_error})
    return records


def write_export(root: Path, tasks: range | list[int], *, heldout_tasks: tuple[int, ...] = ()) -> Path:
    """An export of the given retail test tasks (see the module doc); returns `root`."""
    split_of = {**{n: "test" for n in TEST_TOOLS}, **{n: "validation" for n in VALIDATION_TOOLS}}
    sft: dict[str, list[dict[str, Any]]] = {"train": [], "validation": [], "test": [], "heldout_episodes": []}
    episodes: dict[str, list[EpisodeRecord]] = {"train": [], "validation": [], "test": [], "heldout": []}
    for index in tasks:
        episode = replay(index)
        tools = {c.tool for c in episode.calls}
        heldout = index in heldout_tasks and not tools & set(split_of)
        for record in sft_records(episode, split_of, heldout=heldout):
            sft[record["split"]].append(record)
        place = ("heldout" if heldout else "test" if tools & set(TEST_TOOLS)
                 else "validation" if tools & set(VALIDATION_TOOLS) else "train")
        episodes[place].append(episode)
    (root / "sft").mkdir(parents=True, exist_ok=True)
    (root / "episodes").mkdir(parents=True, exist_ok=True)
    for split, records in sft.items():
        (root / "sft" / f"{split}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    for split, items in episodes.items():
        (root / "episodes" / f"{split}.jsonl").write_text("".join(e.to_json_line() + "\n" for e in items))
    with (root / "tools.jsonl").open("w") as f:
        for name, tool in retail_tools().items():
            f.write(json.dumps({**tool.to_gtm(), "split": split_of.get(name, "train")}) + "\n")
    (root / "card.json").write_text(json.dumps({"source": "tau-bench retail test tasks (real tools replayed)",
                                                "tasks": list(tasks)}))
    return root
