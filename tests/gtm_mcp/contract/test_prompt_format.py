"""The prompt format: layout, prefix stability, context budget, training examples, answer parsing."""

from __future__ import annotations

import json

import pytest

from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.prompt import (
    PROMPT_FORMAT_VERSION,
    parse_answer,
    read_answer,
    render_messages,
    render_prompt,
    render_training_example,
)
from gtm_mcp.contract.records import CallRecord, SimulationRequest, ToolOutput

WEATHER = ToolDefinition(
    name="get_weather", description="Current weather for a city.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    output_schema={"type": "object", "properties": {"temp_c": {"type": "number"}}, "required": ["temp_c"]},
)


def request(**kw) -> SimulationRequest:
    base = dict(tool=WEATHER, arguments={"city": "Paris"}, session_id="s1", output_schema=WEATHER.output_schema)
    base.update(kw)
    return SimulationRequest(**base)


def test_exact_rendering_of_a_first_call() -> None:
    messages = render_messages(request())
    assert PROMPT_FORMAT_VERSION == "gtm-prompt/2"
    assert [m["role"] for m in messages] == ["system", "user"]
    system = messages[0]["content"]
    assert system.startswith("You are a Generalist Tool Model")
    assert "# Tool: get_weather\nCurrent weather for a city.\n\n# Input schema\n" in system
    assert '# Output schema\n{"type": "object", "properties": {"temp_c": {"type": "number"}}' in system
    assert system.endswith("Reply with one JSON value that satisfies the output schema.")
    assert messages[1] == {"role": "user", "content": 'Call get_weather with arguments:\n{"city": "Paris"}'}


def test_history_hidden_context_and_arguments_in_order() -> None:
    history = (CallRecord("get_weather", {"city": "Rome"}, {"temp_c": 21}),
               CallRecord("get_weather", {"city": ""}, "city must not be empty", is_error=True))
    messages = render_messages(request(history=history, hidden_context="It is snowing in Paris."))
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert messages[2]["content"] == '{"temp_c": 21}'
    assert messages[4]["content"] == "Error: city must not be empty"
    last = messages[-1]["content"]
    assert last.index("It is snowing in Paris.") < last.index('{"city": "Paris"}')
    assert last.endswith('Call get_weather with arguments:\n{"city": "Paris"}')


def test_system_prefix_is_identical_across_calls_and_sessions() -> None:
    a = render_messages(request(arguments={"city": "A"}, session_id="x"))
    b = render_messages(request(arguments={"city": "B"}, session_id="y", hidden_context="h",
                                history=(CallRecord("other", {}, {"k": 1}),)))
    assert a[0] == b[0]


def test_a_session_prompt_grows_only_at_the_end() -> None:
    first = request(arguments={"city": "Rome"})
    m1 = render_messages(first)
    m2 = render_messages(request(history=(CallRecord("get_weather", {"city": "Rome"}, {"temp_c": 21}),)))
    assert m2[: len(m1)] == m1  # the first call's whole prompt is a prefix of the second's


def test_repair_feedback_comes_last() -> None:
    messages = render_messages(request().with_repair("not json", "no JSON object found"))
    assert [m["role"] for m in messages][-3:] == ["user", "assistant", "user"]
    assert messages[-2]["content"] == "not json"
    assert "no JSON object found" in messages[-1]["content"]


def test_budget_drops_oldest_turns_first_and_keeps_hidden_context() -> None:
    history = tuple(CallRecord("get_weather", {"city": f"city{i}"}, {"temp_c": i, "pad": "x" * 400})
                    for i in range(10))
    req = request(history=history, hidden_context="SECRET" * 50)
    full = render_prompt(req)
    budget = sum(len(m["content"]) // 3 + 5 for m in full.messages) - 300
    fitted = render_prompt(req, token_budget=budget)
    assert 0 < fitted.dropped_turns < 10
    text = "\n".join(m["content"] for m in fitted.messages)
    assert "city0" not in text and "city9" in text
    assert "SECRET" * 50 in text and '{"city": "Paris"}' in text
    tiny = render_prompt(req, token_budget=1)  # nothing fits: all history goes, the rest stays
    assert tiny.dropped_turns == 10 and [m["role"] for m in tiny.messages] == ["system", "user"]


def test_training_example_is_the_served_prompt_plus_the_target() -> None:
    req = request(hidden_context="h")
    example = render_training_example(req, {"temp_c": 3.5})
    assert example["format"] == PROMPT_FORMAT_VERSION
    assert example["messages"][:-1] == render_messages(req)
    assert example["messages"][-1] == {"role": "assistant", "content": '{"temp_c": 3.5}'}
    refusal = render_training_example(req, ToolOutput("unknown city 'Paris'", is_error=True))
    assert refusal["messages"][-1]["content"] == "Error: unknown city 'Paris'"


def test_a_tool_without_output_schema_answers_in_text() -> None:
    """Text tools (most real MCP servers) are told to answer in text; their text reads back as is."""
    clock = ToolDefinition(name="get_current_time", description="Current time in a time zone.")
    req = SimulationRequest(tool=clock, arguments={"timezone": "UTC"}, session_id="s", output_schema=None,
                            history=(CallRecord("get_current_time", {"timezone": "Mars"}, "Invalid timezone: Mars",
                                                is_error=True),))
    messages = render_messages(req)
    assert "# Output schema" not in messages[0]["content"]
    assert messages[0]["content"].endswith("The tool answers in text: reply with the text it would return.")
    assert messages[2]["content"] == "Error: Invalid timezone: Mars"
    assert read_answer("  12:00 UTC, Monday\n", expects_json=False) == ToolOutput("12:00 UTC, Monday")
    assert read_answer('{"a": 1}', expects_json=False) == ToolOutput('{"a": 1}')  # text stays text


@pytest.mark.parametrize("text, expected", [
    ("Error: no such file: /tmp/x", ToolOutput("no such file: /tmp/x", is_error=True)),
    ("<think>hm</think>Error:   not found", ToolOutput("not found", is_error=True)),
    ('```json\n{"a": 1}\n```', ToolOutput({"a": 1})),
])
def test_read_answer_tells_refusals_from_outputs(text: str, expected: ToolOutput) -> None:
    assert read_answer(text, expects_json=True) == expected


def test_read_answer_wants_json_when_the_tool_has_an_output_schema() -> None:
    with pytest.raises(ValueError, match="JSON"):
        read_answer("It is sunny.", expects_json=True)


@pytest.mark.parametrize("text, expected", [
    ('{"a": 1}', {"a": 1}),
    ('  \n{"a": 1}\n', {"a": 1}),
    ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
    ('Here is the output:\n```\n{"a": 1}\n```\nHope this helps', {"a": 1}),
    ('Sure! The result is {"a": {"b": "}"}} and more text {"c": 2}', {"a": {"b": "}"}}),
    ('<think>maybe {"x": 0}</think>{"a": 1}', {"a": 1}),
    ('[1, 2, 3]', [1, 2, 3]),
    ('The {broken json then {"ok": true}', {"ok": True}),
])
def test_parse_answer_finds_the_json(text: str, expected: object) -> None:
    assert parse_answer(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "Paris is sunny today.", "{not json}", '{"a": 1'])
def test_parse_answer_raises_value_error_without_json(text: str) -> None:
    with pytest.raises(ValueError, match="JSON"):
        parse_answer(text)


def test_unicode_is_kept_verbatim() -> None:
    messages = render_messages(request(arguments={"city": "Zürich"}))
    assert "Zürich" in messages[-1]["content"]
    assert json.loads(messages[-1]["content"].split("\n", 1)[1]) == {"city": "Zürich"}


@pytest.mark.parametrize("doc", ["README.md", "docs/backends.md"])
def test_documented_rendering_is_what_the_code_renders(doc: str) -> None:
    """The README and docs show an 'exact rendering'; it must stay exactly what the code produces."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / doc).read_text()
    start = text.index('"role": "system"')
    start = text.rindex("```json\n", 0, start) + len("```json\n")
    shown = json.loads(text[start: text.index("```", start)])
    tool = ToolDefinition(
        name="get_weather", description="Current weather for a city.",
        input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        output_schema={"type": "object", "properties": {"city": {"type": "string"}, "temp_c": {"type": "number"}},
                       "required": ["city", "temp_c"]})
    earlier = CallRecord("get_weather", {"city": "Paris"}, {"city": "Paris", "temp_c": 21.5})
    second = SimulationRequest(tool=tool, arguments={"city": "Oslo"}, session_id="s", output_schema=tool.output_schema,
                               history=(earlier,), hidden_context="A cold front reaches Scandinavia today.")
    assert render_messages(second) == shown
