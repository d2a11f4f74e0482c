"""tau-bench's real stateful tools (retail, airline) without its LLM user simulator.

`tau_bench/__init__.py`, `tau_bench/envs/__init__.py` and each domain's `__init__.py` import litellm
(the user simulator); the tools, data and tasks do not need it. `load_domain` registers those
packages as empty modules with the right `__path__`, then imports `tools.ALL_TOOLS`, `data.load_data`
and the task lists. `task_episodes` turns each task's gold action sequence into a plan: the user's
details first, a read of the order or reservation before and after every write, the gold actions in
order, and (for a share of tasks) one probe the tool refuses: the write repeated, a bad-argument
call, or a lookup of something that does not exist."""

from __future__ import annotations

import importlib
import random
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gtm_mcp.contract import ToolDefinition
from gtm_mcp.tools.loader import parse_document
from synthesis.errorgen import KINDS as BAD_KINDS
from synthesis.errorgen import bad_call
from synthesis.record.planner import PlannedCall

TASK_MODULES = {"retail": {"train": ("tasks_train", "TASKS_TRAIN"), "dev": ("tasks_dev", "TASKS_DEV"),
                           "test": ("tasks_test", "TASKS_TEST")},
                "airline": {"test": ("tasks_test", "TASKS")}}
READ_BY_KEY = {"order_id": "get_order_details", "reservation_id": "get_reservation_details"}
MISSING = {"order_id": "#W0000000", "reservation_id": "ZZZZZZ", "user_id": "no_such_user_0000",
           "email": "nobody@example.com", "product_id": "0000000000"}


class TauUnavailable(RuntimeError):
    pass


@dataclass
class Domain:
    name: str
    tools: dict[str, Any]  # tool name -> the tau Tool class (invoke, get_info)
    definitions: list[ToolDefinition]
    load_data: Any
    tasks: dict[str, list[Any]]  # task split -> Task objects

    def read_only_data(self) -> dict[str, Any]:
        return self.load_data()


def _stub(name: str, path: Path) -> None:
    if name not in sys.modules or not hasattr(sys.modules[name], "__path__"):
        module = types.ModuleType(name)
        module.__path__ = [str(path)]  # a namespace for the submodules; no litellm import
        sys.modules[name] = module


def load_domain(root: str | Path, name: str) -> Domain:
    """The domain's tools, data loader and tasks from a tau-bench checkout at `root`."""
    root = Path(root)
    package = root / "tau_bench"
    if not (package / "envs" / name / "tools").is_dir():
        raise TauUnavailable(f"no tau-bench domain {name!r} under {root} (expected tau_bench/envs/{name}/tools)")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    _stub("tau_bench", package)
    _stub("tau_bench.envs", package / "envs")
    _stub(f"tau_bench.envs.{name}", package / "envs" / name)
    tools_module = importlib.import_module(f"tau_bench.envs.{name}.tools")
    data_module = importlib.import_module(f"tau_bench.envs.{name}.data")
    tool_classes = {cls.get_info()["function"]["name"]: cls for cls in tools_module.ALL_TOOLS}
    definitions, problems = parse_document([cls.get_info() for cls in tool_classes.values()], f"tau-bench:{name}",
                                           "openai", kind="code")
    if problems:
        raise TauUnavailable(f"tau-bench {name} tools do not import: {problems[0]}")
    definitions = [d.model_copy(update={"server": f"tau-bench-{name}"}) for d in definitions]
    tasks = {}
    for split, (module, attr) in TASK_MODULES[name].items():
        try:
            tasks[split] = list(getattr(importlib.import_module(f"tau_bench.envs.{name}.{module}"), attr))
        except (ImportError, AttributeError):
            continue
    return Domain(name, tool_classes, definitions, data_module.load_data, tasks)


def _is_write(name: str) -> bool:
    return name.split("_")[0] in {"cancel", "modify", "return", "exchange", "book", "update", "send"}


def task_plan(domain: Domain, task: Any, rng: random.Random, *, probe: bool) -> list[PlannedCall]:
    """The calls of one task episode (see the module doc)."""
    known = {d.name: d for d in domain.definitions}
    plan = [PlannedCall("get_user_details", {"user_id": task.user_id}, "context")]
    writes = []
    for action in task.actions:
        if action.name not in known:
            continue
        kwargs = dict(action.kwargs)
        ref = next(((k, kwargs[k]) for k in READ_BY_KEY if k in kwargs and READ_BY_KEY[k] in known), None)
        write = _is_write(action.name)
        if write and ref:
            plan.append(PlannedCall(READ_BY_KEY[ref[0]], {ref[0]: ref[1]}, "context"))
        plan.append(PlannedCall(action.name, kwargs, "gold"))
        if write:
            writes.append(plan[-1])
            if ref:
                plan.append(PlannedCall(READ_BY_KEY[ref[0]], {ref[0]: ref[1]}, "context"))
    if probe:
        options = ["missing"] + (["repeat", "bad"] if writes else [])
        what = rng.choice(options)
        if what == "repeat":
            plan.append(PlannedCall(writes[-1].tool, writes[-1].arguments, "probe:repeat"))
        elif what == "bad":
            target = rng.choice(writes)
            order = list(BAD_KINDS)
            rng.shuffle(order)
            for kind in order:
                bad = bad_call(kind, known[target.tool].model_copy(update={"check_profile": None}), target.arguments,
                               rng)
                if bad is not None:
                    plan.insert(plan.index(target), PlannedCall(target.tool, bad.arguments, f"bad:{kind}"))
                    break
        else:
            reads = [(k, READ_BY_KEY[k]) for k in READ_BY_KEY if READ_BY_KEY[k] in known]
            key, tool = rng.choice(reads)
            plan.insert(1, PlannedCall(tool, {key: MISSING[key]}, "refusal"))
    return plan


def explore_hints(domain: Domain, rng: random.Random, count: int = 60) -> dict[str, list[Any]]:
    """Realistic starting values for exploring episodes, sampled from the domain's data."""
    data = domain.read_only_data()
    users = sorted(data.get("users", {}))
    picked = rng.sample(users, min(count, len(users)))
    hints: dict[str, list[Any]] = {"user_id": picked}
    profiles = [data["users"][u] for u in picked]
    if profiles and "email" in profiles[0]:
        hints["email"] = [p["email"] for p in profiles]
    names = [p.get("name") or {} for p in profiles]
    hints["first_name"] = [n.get("first_name") for n in names if n.get("first_name")]
    hints["last_name"] = [n.get("last_name") for n in names if n.get("last_name")]
    hints["zip"] = [p.get("address", {}).get("zip") for p in profiles if p.get("address", {}).get("zip")]
    if "orders" in data:
        hints["order_id"] = rng.sample(sorted(data["orders"]), min(count, len(data["orders"])))
    if "reservations" in data:
        hints["reservation_id"] = rng.sample(sorted(data["reservations"]), min(count, len(data["reservations"])))
    if "flights" in data:
        flights = [data["flights"][k] for k in rng.sample(sorted(data["flights"]), min(count, len(data["flights"])))]
        hints["origin"] = sorted({f["origin"] for f in flights})
        hints["destination"] = sorted({f["destination"] for f in flights})
        hints["date"] = [f"2024-05-{d:02d}" for d in range(1, 31)]
    if "products" in data:
        hints["product_id"] = rng.sample(sorted(data["products"]), min(count, len(data["products"])))
        variants = [v for p in data["products"].values() for v in (p.get("variants") or {})]
        hints["new_item_ids"] = [[v] for v in rng.sample(sorted(variants), min(count, len(variants)))]
    if "flights" in data:
        trips = []
        for number in rng.sample(sorted(data["flights"]), min(count, len(data["flights"]))):
            dates = [d for d, info in (data["flights"][number].get("dates") or {}).items()
                     if info.get("status") == "available"]
            if dates:
                trips.append([{"flight_number": number, "date": rng.choice(dates)}])
        hints["flights"] = trips
        hints["passengers"] = [[{"first_name": n.get("first_name"), "last_name": n.get("last_name"),
                                 "dob": p.get("dob", "1990-01-01")}] for n, p in zip(names, profiles, strict=True)
                               if n.get("first_name")]
        hints["total_baggages"] = [0, 1, 2, 3]
        hints["nonfree_baggages"] = [0, 1]
        hints["amount"] = [50, 100, 150]
    hints["expression"] = ["2 + 2", "(120.5 - 20) * 0.9", "1499.99 / 3", "250 + 75.25 - 30"]
    hints["thought"] = ["The user wants to return two items; check the order status first.",
                        "Both orders are pending, so they can be modified."]
    hints["summary"] = ["The user asks for a refund outside policy; transferring to a human agent."]
    return {k: v for k, v in hints.items() if v}
