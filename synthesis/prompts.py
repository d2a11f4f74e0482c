"""What the teacher is asked, and the JSON shape of each answer (sent as JSON-schema structured
output where the endpoint supports it). The judge's rubric is fixed text, so pass rates of two runs
measure the same thing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from gtm_mcp.contract import ToolDefinition

Messages = list[dict[str, str]]

SYSTEM = ("You write realistic training data for a tool simulator: definitions of software tools (APIs), "
          "the calls agents make to them and the exact outputs the real tools return. Answer with one JSON "
          "object in the requested shape and nothing else.")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _chat(user: str) -> Messages:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def tool_block(tool: ToolDefinition) -> str:
    lines = [f"Tool: {tool.name}"]
    if tool.description:
        lines.append(f"Description: {tool.description}")
    if tool.domains:
        lines.append(f"Field: {', '.join(tool.domains)}")
    lines.append(f"Input schema: {_dumps(tool.input_schema)}")
    if tool.output_schema is not None:
        lines.append(f"Output schema: {_dumps(tool.output_schema)}")
    else:
        lines.append("Output: the tool answers in plain text (no output schema).")
    return "\n".join(lines)


# -- stage 1: taxonomy -------------------------------------------------------------------------

FIELDS_SCHEMA = {"type": "object", "properties": {"fields": {"type": "array", "items": {"type": "string"}}},
                 "required": ["fields"]}
SUBFIELDS_SCHEMA = {"type": "object", "properties": {"subfields": {"type": "array", "items": {"type": "string"}}},
                    "required": ["subfields"]}


def new_fields(examples: Sequence[str], count: int) -> Messages:
    return _chat(
        f"Here are fields (areas) in which software tools and APIs exist: {', '.join(examples)}.\n"
        f"Name {count} OTHER fields of the same granularity, different from these and from each other "
        "(e.g. 'Weather', 'Banking', 'Logistics'). Short names, 1-3 words.\n"
        'Answer as {"fields": ["...", ...]}.')


def subfields(field: str, count: int) -> Messages:
    return _chat(f"Name {count} distinct subfields of the field '{field}' in which software tools exist "
                 "(short names, 1-4 words).\n" 'Answer as {"subfields": ["...", ...]}.')


# -- stage 2: tools ----------------------------------------------------------------------------

TOOLS_SCHEMA = {
    "type": "object",
    "properties": {"tools": {"type": "array", "items": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "description": {"type": "string"},
                       "input_schema": {"type": "object"}, "output_schema": {"type": "object"}},
        "required": ["name", "description", "input_schema", "output_schema"]}}},
    "required": ["tools"],
}


def new_tools(field: str, subfield: str, count: int, avoid: Sequence[str]) -> Messages:
    avoid_line = f"Do not repeat these existing tools: {', '.join(avoid)}.\n" if avoid else ""
    return _chat(
        f"Invent {count} realistic, distinct tools (API functions) for the subfield '{subfield}' of '{field}'.\n"
        f"{avoid_line}"
        "Each tool: a snake_case `name`; a one- or two-sentence `description` saying what it does; an "
        "`input_schema` (JSON Schema, type object, typed `properties` each with a description, and a `required` "
        "list naming only declared properties); an `output_schema` (JSON Schema, type object, typed properties, "
        "`required` list).\n"
        'Answer as {"tools": [{"name": ..., "description": ..., "input_schema": {...}, "output_schema": {...}}]}.')


# -- stage 3: filling what imported tools lack --------------------------------------------------

OUTPUT_SCHEMA_SCHEMA = {"type": "object", "properties": {
    "answers_in_text": {"type": "boolean"}, "output_schema": {"type": "object"}}, "required": ["answers_in_text"]}
TYPES_SCHEMA = {"type": "object", "properties": {"types": {"type": "object"}}, "required": ["types"]}


def fill_output_schema(tool: ToolDefinition) -> Messages:
    return _chat(
        f"{tool_block(tool)}\n\nThis tool's definition lacks an output schema. Decide what the real tool returns: "
        "either structured JSON (then write its JSON Schema: type object, typed properties with descriptions, a "
        "`required` list) or plain text (file contents, a status line, a report).\n"
        'Answer as {"answers_in_text": false, "output_schema": {...}} or {"answers_in_text": true}.')


def fill_types(tool: ToolDefinition, untyped: Sequence[str]) -> Messages:
    return _chat(
        f"{tool_block(tool)}\n\nThese parameters have no JSON type: {', '.join(untyped)}. Give each one's JSON "
        "Schema type (string, integer, number, boolean, array or object).\n"
        'Answer as {"types": {"<parameter>": "<type>", ...}}.')


# -- stage 4: single-turn calls ------------------------------------------------------------------

#: Angles that make samples of one tool differ (picked by the seed).
ANGLES = ("an ordinary, typical request", "a request with unusual but valid values",
          "a request from a small business", "a request from a large organisation",
          "a request with every optional parameter used", "a request with only the required parameters",
          "a request about an edge case (empty results, a boundary value)", "a request in a non-English locale",
          "a request made late in a long workflow", "a request from a hobbyist")


def sample_schema(tool: ToolDefinition) -> dict[str, Any]:
    output = tool.output_schema if tool.output_schema is not None else {"type": "string"}
    return {"type": "object", "properties": {"context": {"type": "string"}, "arguments": tool.input_schema,
                                             "output": output},
            "required": ["context", "arguments", "output"]}


def single_call(tool: ToolDefinition, angle: str, feedback: Sequence[str] = ()) -> Messages:
    refine = ""
    if feedback:
        refine = ("\n\nEarlier samples for this tool were rejected for these reasons; avoid them:\n- "
                  + "\n- ".join(feedback))
    output_rule = ("the exact JSON object the tool returns, valid for the output schema" if tool.output_schema
                   else "the exact text the tool prints")
    return _chat(
        f"{tool_block(tool)}\n\nWrite one realistic call of this tool: {angle}.\n"
        "- context: 1-3 sentences on the situation in which an agent calls it (who, what world state);\n"
        "- arguments: what the agent passes, valid for the input schema, realistic concrete values that agree "
        "with each other and with the context;\n"
        f"- output: {output_rule}, consistent with the arguments and the context; concrete values, never "
        "placeholders like 'string' or 'example'."
        f"{refine}\n" 'Answer as {"context": "...", "arguments": {...}, "output": ...}.')


# -- the judge (fixed rubric) ---------------------------------------------------------------------

RUBRIC = {
    "parameters": ("PARAMETERS: fail when two arguments contradict each other or the context (an end date before "
                   "the start date, a city in the wrong country, a price of 0 for a purchase, a count that "
                   "disagrees with a list); pass otherwise."),
    "coherence": ("OUTPUT: fail when the output does not answer THIS call: it ignores or contradicts the arguments "
                  "or the context (other ids, names, dates, amounts than asked for; results for another query), "
                  "contradicts itself, or holds placeholder values ('string', 'example', 'foo', 'N/A', 'lorem'); "
                  "pass otherwise."),
    "consistency": ("HISTORY: fail when the last output contradicts an earlier output of the same episode (an id, "
                    "name, amount, status or content that an earlier call established, a deleted thing still "
                    "present, a created thing missing); pass otherwise."),
    "helpfulness": ("ERROR MESSAGE: pass when the message says what is wrong, names the parameter at fault (for "
                    "bad arguments) and lets the caller fix the call, in the style of a real API; fail when it is "
                    "vague, blames the wrong thing, or is not an error message."),
}


def verdict_schema(checks: Sequence[str]) -> dict[str, Any]:
    one = {"type": "object", "properties": {"pass": {"type": "boolean"}, "reason": {"type": "string"}},
           "required": ["pass", "reason"]}
    return {"type": "object", "properties": dict.fromkeys(checks, one), "required": list(checks)}


def judge(tool: ToolDefinition, checks: Sequence[str], arguments: Any, output: Any, *, context: str | None = None,
          history: Sequence[dict[str, Any]] = (), is_error: bool = False) -> Messages:
    parts = [tool_block(tool), ""]
    if context:
        parts.append(f"Context: {context}")
    if history:
        parts.append("Earlier calls of this episode, oldest first:")
        parts += [f"{i + 1}. {h['tool']}({_dumps(h['arguments'])}) -> {_dumps(h['result'])}"
                  for i, h in enumerate(history)]
        parts.append("Last call:")
    parts.append(f"Arguments: {_dumps(arguments)}")
    parts.append(f"{'Error message' if is_error else 'Output'}: {_dumps(output)}")
    parts += ["", "Judge strictly by these rules:"]
    parts += [f"- {name}: {RUBRIC[name]}" for name in checks]
    answer = ", ".join(f'"{c}": {{"pass": true|false, "reason": "..."}}' for c in checks)
    parts.append(f"Answer as {{{answer}}}, each reason in at most 15 words.")
    return [{"role": "system", "content": "You are a strict reviewer of training data for a tool simulator. "
             "Answer with one JSON object and nothing else."}, {"role": "user", "content": "\n".join(parts)}]


# -- stage 5: multi-turn episodes ------------------------------------------------------------------

def episode_schema(tools: Sequence[ToolDefinition]) -> dict[str, Any]:
    """Two or more calls, each of one of the group's tools with arguments and output of that tool's
    schemas (a grammar-constrained teacher cannot answer otherwise; the checks still run)."""
    def call_of(tool: ToolDefinition) -> dict[str, Any]:
        output = tool.output_schema if tool.output_schema is not None else {"type": "string"}
        return {"type": "object", "properties": {"tool": {"const": tool.name}, "arguments": tool.input_schema,
                                                 "output": output}, "required": ["tool", "arguments", "output"]}

    return {"type": "object", "properties": {
        "context": {"type": "string", "minLength": 1},
        "calls": {"type": "array", "minItems": 2, "items": {"anyOf": [call_of(t) for t in tools]}}},
        "required": ["context", "calls"]}


def episode(tools: Sequence[ToolDefinition], calls: int, angle: str, feedback: Sequence[str] = ()) -> Messages:
    blocks = "\n\n".join(tool_block(t) for t in tools)
    refine = ("\n\nEarlier episodes for these tools were rejected for these reasons; avoid them:\n- "
              + "\n- ".join(feedback)) if feedback else ""
    return _chat(
        f"{blocks}\n\nWrite one realistic episode ({angle}) in which an agent makes {calls} calls to these tools, "
        "in order, with the exact output each call returns.\n"
        "- Values returned by earlier calls (ids, names, paths, contents) must flow into the arguments of later "
        "calls.\n- Later outputs stay consistent with earlier ones: what was created exists, what was changed "
        "shows the change, what was deleted is gone.\n- Arguments are valid for each tool's input schema; "
        "outputs valid for its output schema (plain text for a tool without one).\n"
        f"{refine}\n"
        'Answer as {"context": "...", "calls": [{"tool": "...", "arguments": {...}, "output": ...}, ...]}.')


# -- stage 6: errors ---------------------------------------------------------------------------------

MESSAGE_SCHEMA = {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}
SEMANTIC_SCHEMA = {"type": "object", "properties": {"context": {"type": "string"}, "message": {"type": "string"}},
                   "required": ["context", "message"]}
SEMANTIC_KINDS = {
    "not_found": "the thing the arguments refer to does not exist",
    "conflict": "the request conflicts with the current state (already exists, already done, locked, in use)",
    "out_of_range": "a value is acceptable by type but outside what the world allows (no availability, over a "
                    "limit or a balance, a date with nothing on it)",
    "forbidden": "the caller is not allowed to do this (permissions, plan limits, closed account)",
}


def bad_arguments_message(tool: ToolDefinition, arguments: Any, problem: str) -> Messages:
    return _chat(
        f"{tool_block(tool)}\n\nAn agent called this tool with these arguments: {_dumps(arguments)}\n"
        f"They are invalid: {problem}\n"
        "Write the error message the real tool returns for this call: one or two sentences in the tool's own "
        "style, naming the parameter at fault and what it expects.\n"
        'Answer as {"message": "..."}.')


def semantic_error(tool: ToolDefinition, arguments: Any, kind: str) -> Messages:
    return _chat(
        f"{tool_block(tool)}\n\nAn agent called this tool with valid arguments: {_dumps(arguments)}\n"
        f"But the world says no: {SEMANTIC_KINDS[kind]}.\n"
        "- context: 1-2 sentences on the world state that makes the call fail;\n"
        "- message: the error message the real tool returns, specific to these arguments.\n"
        'Answer as {"context": "...", "message": "..."}.')
