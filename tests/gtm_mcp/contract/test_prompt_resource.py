"""The prompt format's resource reads: the same layout as tool calls with the resource in place of the
tool (tool prompts are untouched: test_prompt_format.py pins them exactly)."""

from __future__ import annotations

import json

from gtm_mcp.contract import CallRecord, ResourceRead, SimulationRequest
from gtm_mcp.contract.prompt import read_answer, render_messages, render_training_example
from gtm_mcp.contract.prompt.resource import RESOURCE_INSTRUCTIONS
from gtm_mcp.contract.surface import ResourceDefinition, ResourceTemplateDefinition

ORDER = ResourceTemplateDefinition(uri_template="shop://orders/{order_id}", name="Order", mime_type="application/json",
                                   description="One order by its id.")
MEMO = ResourceDefinition(uri="memo://insights", name="Insights memo", mime_type="text/plain")


def read_request(read: ResourceRead, **kw) -> SimulationRequest:
    return SimulationRequest(tool=read.as_tool(), arguments=dict(read.variables), session_id="s", output_schema=None,
                             resource=read, **kw)


def test_a_template_read_renders_definition_first_and_uri_last() -> None:
    read = ResourceRead("shop://orders/ord_1", ORDER, {"order_id": "ord_1"})
    history = (CallRecord("create_order", {"product": "lamp"}, {"order_id": "ord_1", "product": "lamp"}),)
    messages = render_messages(read_request(read, history=history, hidden_context="The lamp is out of stock."))
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    system = messages[0]["content"]
    assert system.startswith(RESOURCE_INSTRUCTIONS)
    assert "# Resource: Order\nOne order by its id.\n\nURI template: shop://orders/{order_id}\nMIME type: " \
           "application/json" in system
    assert system.endswith("Reply with the JSON document the resource holds.")
    assert messages[1]["content"] == 'Call create_order with arguments:\n{"product": "lamp"}'  # history as for tools
    last = messages[-1]["content"]
    assert last.index("The lamp is out of stock.") < last.index("Read the resource shop://orders/ord_1")
    assert last.endswith('Template variables:\n{"order_id": "ord_1"}')


def test_reads_of_one_template_share_the_system_prefix() -> None:
    a = render_messages(read_request(ResourceRead("shop://orders/a", ORDER, {"order_id": "a"})))
    b = render_messages(read_request(ResourceRead("shop://orders/b", ORDER, {"order_id": "b"})))
    assert a[0] == b[0] and a[1] != b[1]


def test_a_text_resource_asks_for_text_and_a_schema_for_json() -> None:
    text = render_messages(read_request(ResourceRead("memo://insights", MEMO)))
    assert "URI: memo://insights" in text[0]["content"]
    assert text[0]["content"].endswith("Reply with the resource's content as text/plain text.")
    assert text[1]["content"] == "Read the resource memo://insights"
    schema = {"type": "object", "properties": {"total": {"type": "number"}}}
    typed = ORDER.model_copy(update={"content_schema": schema})
    system = render_messages(read_request(ResourceRead("shop://orders/x", typed, {"order_id": "x"})))[0]["content"]
    assert f"# Content schema\n{json.dumps(schema)}" in system


def test_a_resource_read_is_a_training_example_like_a_call() -> None:
    request = read_request(ResourceRead("memo://insights", MEMO))
    example = render_training_example(request, "No insights yet.")
    assert example["messages"][:-1] == render_messages(request)
    assert example["messages"][-1] == {"role": "assistant", "content": "No insights yet."}
    assert read_answer("Error: no such memo", expects_json=False).is_error
