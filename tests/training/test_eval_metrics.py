"""The deterministic and reference-based metrics of `gtm-eval` on hand-made cases whose right
answer is known: each case changes one thing and the metric must move the right way."""

from __future__ import annotations

from typing import Any

from gtm_mcp.contract import CallRecord, EpisodeRecord, ToolDefinition
from training.evaluation.deterministic import complete, detected, format_ok
from training.evaluation.fidelity import call_fidelity, episode_checks
from training.evaluation.samples import Outcome, Sample, samples_of
from training.evaluation.scoring import fidelity_row, paper_row, score_calls, score_episodes

CREATE_ORDER = ToolDefinition(
    name="create_order", description="Place an order.",
    input_schema={"type": "object", "properties": {"product": {"type": "string"}, "quantity": {"type": "integer"}},
                  "required": ["product"]},
    output_schema={"type": "object", "properties": {
        "order_id": {"type": "string"}, "status": {"type": "string"},
        "lines": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}},
                                             "required": ["sku"]}}},
        "required": ["order_id", "status"]})
# the filesystem MCP server's tools (server-filesystem 2026.8.31): no output schema, answers in text
WRITE_FILE = ToolDefinition(name="write_file", description="Create a new file or overwrite an existing file.",
                            input_schema={"type": "object", "properties": {"path": {"type": "string"},
                                                                           "content": {"type": "string"}},
                                          "required": ["path", "content"]})
READ_FILE = ToolDefinition(name="read_text_file", description="Read the complete contents of a file as text.",
                           input_schema={"type": "object", "properties": {"path": {"type": "string"}},
                                         "required": ["path"]})
# the memory MCP server's tools: JSON text answers
CREATE_ENTITIES = ToolDefinition(name="create_entities", description="Create entities in the knowledge graph.",
                                 input_schema={"type": "object", "properties": {"names": {"type": "array"}}})
READ_GRAPH = ToolDefinition(name="read_graph", description="Read the entire knowledge graph.",
                            input_schema={"type": "object", "properties": {}})
DELETE_ENTITIES = ToolDefinition(name="delete_entities", description="Delete entities from the knowledge graph.",
                                 input_schema={"type": "object", "properties": {"entityNames": {"type": "array"}}})


def answered(episode: EpisodeRecord, answers: list[Outcome]) -> list[Sample]:
    samples = samples_of([episode], "heldout")
    for sample, answer in zip(samples, answers, strict=True):
        sample.observed = answer
    return samples


def text(value: str, is_error: bool = False) -> Outcome:
    return Outcome(value, is_error, value)


def structured(value: dict[str, Any]) -> Outcome:
    import json

    return Outcome(value, False, json.dumps(value))


def test_a_missing_required_field_lowers_comp() -> None:
    reference = Outcome.reference({"order_id": "o-1", "status": "placed", "lines": [{"sku": "lamp"}]}, False)
    full = structured({"order_id": "o-7", "status": "placed", "lines": [{"sku": "lamp"}]})
    no_status = structured({"order_id": "o-7", "lines": [{"sku": "lamp"}]})
    nested_missing = structured({"order_id": "o-7", "status": "placed", "lines": [{"qty": 1}]})
    assert complete(CREATE_ORDER, full, reference)
    assert not complete(CREATE_ORDER, no_status, reference)
    assert not complete(CREATE_ORDER, nested_missing, reference)  # required inside array items too
    assert not complete(CREATE_ORDER, text("order placed"), reference)
    assert format_ok(CREATE_ORDER, full, reference) and not format_ok(CREATE_ORDER, no_status, reference)

    calls = [CallRecord("create_order", {"product": "lamp"}, reference.value, origin="real") for _ in range(2)]
    episode = EpisodeRecord(id="orders", tools=[CREATE_ORDER], calls=calls)
    samples = answered(episode, [full, no_status])
    score_calls(samples)
    row = paper_row(samples)
    assert row["single_comp"] == 100.0 and row["multi_comp"] == 0.0
    assert samples[1].metrics["missing_fields"] == ["/status"]


def test_a_read_that_ignores_an_earlier_write_fails_consistency() -> None:
    content = "Quarterly report: revenue 4.2M, margin 31%"
    episode = EpisodeRecord(id="fs", tools=[WRITE_FILE, READ_FILE], calls=[
        CallRecord("write_file", {"path": "/tmp/w/report.txt", "content": content},
                   "Successfully wrote to /tmp/w/report.txt", origin="real"),
        CallRecord("read_text_file", {"path": "/tmp/w/report.txt"}, content, origin="real"),
    ])
    wrote = text("Successfully wrote to /tmp/w/report.txt")
    faithful = answered(episode, [wrote, text(content)])
    forgetful = answered(episode, [wrote, text("Lorem ipsum dolor sit amet")])
    good, bad = episode_checks(faithful), episode_checks(forgetful)
    assert [c.rule for c in good] == ["read_after_write"] and good[0].passed
    assert [c.rule for c in bad] == ["read_after_write"] and not bad[0].passed
    for samples in (faithful, forgetful):
        score_calls(samples)
        score_episodes(samples)
    assert fidelity_row(faithful)["consistency"] == 100.0 and fidelity_row(faithful)["consistent_episodes"] == 100.0
    assert fidelity_row(forgetful)["consistency"] == 0.0 and fidelity_row(forgetful)["consistent_episodes"] == 0.0


def test_a_text_answer_where_the_real_tool_gave_json_lowers_shape_agreement() -> None:
    reference = Outcome.reference({"order_id": "o-1", "status": "placed"}, False)
    as_json = call_fidelity(structured({"order_id": "o-9", "status": "placed"}), reference)
    as_text = call_fidelity(text("Your order o-9 was placed."), reference)
    assert as_json.shape_agree and as_json.keys == 1.0 and as_json.types == 1.0
    assert as_json.exact == 0.5 and as_json.near == 0.5  # status equal, the id not (nor nearly)
    assert not as_text.shape_agree and as_text.keys == 0.0 and as_text.exact == 0.0
    # JSON text (pretty-printed, as many real MCP servers answer) is JSON, not text
    assert call_fidelity(text('{\n  "order_id": "o-1",\n  "status": "placed"\n}'), reference).shape_agree
    # and a JSON answer to a text tool disagrees the other way
    assert not call_fidelity(structured({"result": "ok"}), Outcome.reference("ok", False)).shape_agree


def test_error_agreement_detection_and_near_values() -> None:
    refusal = Outcome.reference("Error: unknown time zone 'Mars/Olympus'", True)
    assert call_fidelity(text("Invalid timezone: Mars/Olympus", True), refusal).is_error_agree
    assert not call_fidelity(structured({"time": "12:00"}), refusal).is_error_agree
    assert detected(text("Invalid timezone", True))
    assert not detected(text("The tool simulator failed for 'get_time': its answer was not a valid output", True))
    near = call_fidelity(structured({"price": 10.5, "name": "Desk Lamp Pro"}),
                         Outcome.reference({"price": 10.0, "name": "Desk lamp pro"}, False))
    assert near.exact == 0.0 and near.near == 1.0  # within 10 %; same words up to case


def test_returned_ids_come_back_as_the_simulator_spelled_them_and_deleted_things_are_gone() -> None:
    """memory server style: create returns entities, read_graph lists them, delete removes one."""
    created = [{"name": "alice_smith_42", "entityType": "person"}, {"name": "acme_corp_7", "entityType": "org"}]
    episode = EpisodeRecord(id="kg", tools=[CREATE_ENTITIES, READ_GRAPH, DELETE_ENTITIES], calls=[
        CallRecord("create_entities", {"names": ["Alice", "Acme"]}, {"entities": created}, origin="real"),
        CallRecord("read_graph", {}, {"entities": created}, origin="real"),
        CallRecord("delete_entities", {"entityNames": ["acme_corp_7"]}, "Entities deleted successfully", origin="real"),
        CallRecord("read_graph", {}, {"entities": created[:1]}, origin="real"),
    ])
    # the simulator named the entities itself (its own ids) and must stay with them
    mine = [{"name": "ent_0001_alice", "entityType": "person"}, {"name": "ent_0002_acme", "entityType": "org"}]
    consistent = [structured({"entities": mine}), structured({"entities": mine}),
                  text("Entities deleted successfully"), structured({"entities": mine[:1]})]
    stale = [*consistent[:3], structured({"entities": mine})]  # still lists the deleted entity
    renamed = [consistent[0], structured({"entities": created}), *consistent[2:]]  # forgets its own ids
    good = episode_checks(answered(episode, consistent))
    assert {(c.rule, c.expected) for c in good} >= {("id_comes_back", "ent_0001_alice"),
                                                    ("id_comes_back", "ent_0002_acme")}
    assert all(c.passed for c in good)
    stale_checks = episode_checks(answered(episode, stale))
    gone = [c for c in stale_checks if c.rule == "deleted_is_gone"]
    assert gone and not any(c.passed for c in gone)
    assert any(not c.passed for c in episode_checks(answered(episode, renamed)) if c.rule == "id_comes_back")
