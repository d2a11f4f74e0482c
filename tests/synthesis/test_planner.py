"""The recorder's planner without a server: values flow from earlier outputs into later calls by
shared keys, CRUD scripts start with a creating tool, refusals name things that are not there, bad
calls are the four kinds, and the same seed gives the same plan."""

from __future__ import annotations

import random
from pathlib import Path

from gtm_mcp.contract import ToolDefinition
from synthesis.record.config import ServerSpec, expand
from synthesis.record.planner import GenericPlanner, Pool, key_of, verb_of


def tool(name: str, props: dict, required: list[str]) -> ToolDefinition:
    return ToolDefinition(name=name, description=f"{name} tool.", input_schema={
        "type": "object", "properties": props, "required": required})


NOTE = {"type": "string"}
TOOLS = [tool("create_note", {"title": NOTE, "body": NOTE}, ["title"]),
         tool("get_note", {"note_id": NOTE}, ["note_id"]),
         tool("update_note", {"note_id": NOTE, "body": NOTE}, ["note_id", "body"]),
         tool("delete_note", {"note_id": NOTE}, ["note_id"])]


def test_keys_verbs_and_the_pool() -> None:
    assert key_of("entityNames") == key_of("names") == key_of("name") == "name"
    assert key_of("order_id") == key_of("orders") == "order"
    assert key_of("payment_method_id", {"payment_method_id": "pm"}) == "pm"
    assert [verb_of(t) for t in TOOLS] == ["create", "read", "update", "delete"]
    pool = Pool()
    pool.observe({"title": "Groceries"}, '{"note_id": "n_42", "owner": {"id": "u_7"}}')
    pool.observe({}, "Saved to /tmp/w/files/a.txt at commit 3f2a9c1")
    assert pool.get("note_id") == ["n_42"] and pool.get("owner") == ["u_7"]
    assert pool.get("path") == ["/tmp/w/files/a.txt"] and pool.get("revision") == ["3f2a9c1"]


def run_plan(kind: str, seed: int) -> list:
    spec = ServerSpec(name="notes", command="notes-server", calls=(6, 6))
    planner = GenericPlanner(spec, TOOLS, kind, random.Random(seed), world="/w", root=Path("/"))
    plan = []
    while (call := planner.next_call()) is not None:
        plan.append(call)
        if call.tool == "create_note":
            planner.observe(call, {"note_id": f"n_{len(plan)}", "title": call.arguments["title"]})
        else:
            planner.observe(call, {"ok": True})
    return plan


def test_crud_flow_refusal_and_bad_argument_plans() -> None:
    crud = run_plan("crud", 1)
    assert crud[0].tool == "create_note" and len(crud) == 6
    # the id the create returned flows into later calls (a drawn choice per call: most plans use it)
    flowed = [any(c.arguments.get("note_id") == "n_1" for c in run_plan("crud", seed)[1:]) for seed in range(1, 9)]
    assert sum(flowed) >= 5
    refusal = run_plan("refusal", 2)
    assert refusal[-1].intent == "refusal"
    assert any("missing" in str(v) for v in refusal[-1].arguments.values())
    bad = run_plan("bad_arguments", 3)
    assert bad[-1].intent.startswith("bad:")
    assert run_plan("crud", 1) == crud  # same seed, same plan


def test_placeholders_expand_per_episode() -> None:
    value = expand({"path": "{world}/files/{theme.name}.txt", "n": "{n}"}, world="/tmp/w1", theme={"name": "notes"},
                   rng=random.Random(0))
    assert value["path"] == "/tmp/w1/files/notes.txt" and value["n"].isdigit()
