"""Rendering a simulation request into chat messages (prompt format `gtm-prompt/2`).

Layout, stable parts first so that an engine's prefix cache is reused:

1. `system`: the instructions and the tool definition (name, description, input schema, and the
   output schema, or a line saying the tool answers in text). Identical for every call of one
   tool, whatever the session.
2. the session's history, oldest first: one `user` turn per earlier call (tool name + arguments)
   and one `assistant` turn with what it got: the JSON object, the text, or `Error: <text>`.
   A session's prompt therefore only grows at the end from one call to the next.
3. the current call, last, as a `user` turn: the hidden context (if any), then tool name and arguments.
4. on a repair round: the refused answer as an `assistant` turn and the problem as a `user` turn.

A `resources/read` (`request.resource` set) renders the same way with the resource in place of the
tool (`gtm_mcp.contract.prompt.resource`); tool calls are unaffected.

An answer is read back by `gtm_mcp.contract.prompt.parse.read_answer`: `Error: ...` is a refusal
(an MCP isError result); otherwise JSON when the tool has an output schema, text when it has none.

Roles alternate strictly (system, user, assistant, ..., user) so every chat template accepts it.
When a token budget is given (`budget.prompt_budget`), the oldest history turns are dropped first;
the definition, the hidden context and the current arguments are never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.prompt.budget import TokenCounter, estimate_tokens, message_cost
from gtm_mcp.contract.records import CallRecord, SimulationRequest, ToolOutput
from gtm_mcp.contract.versions import PROMPT_FORMAT_VERSION

Message = dict[str, str]

INSTRUCTIONS = (
    "You are a Generalist Tool Model: you simulate the tool defined below. For each call, reply with "
    "the output the real tool would return for these arguments, consistent with the earlier calls of "
    "this session and with the hidden context when one is given. If the real tool would refuse the "
    "call (bad arguments, something not found, not allowed), reply with `Error: ` and the message it "
    "would give. Reply with the output only, nothing else."
)
JSON_OUTPUT = "# Output schema\n{schema}\n\nReply with one JSON value that satisfies the output schema."
TEXT_OUTPUT = "# Output\nThe tool answers in text: reply with the text it would return."
HIDDEN_HEADER = "Hidden context (the caller never sees it; keep the output consistent with it):"
REPAIR_TEMPLATE = (
    "That output was refused: {problem}\n"
    "Reply again with only the corrected output."
)
ERROR_PREFIX = "Error: "


def dumps(value: Any) -> str:
    """The one JSON spelling used in prompts and training targets (key order kept, unicode kept)."""
    return json.dumps(value, ensure_ascii=False)


def system_message(tool: ToolDefinition, output_schema: dict[str, Any] | None) -> Message:
    """The stable first message: instructions and the tool definition."""
    parts = [INSTRUCTIONS, "", f"# Tool: {tool.name}"]
    if tool.description:
        parts.append(tool.description)
    parts += ["", "# Input schema", dumps(tool.input_schema), ""]
    parts.append(JSON_OUTPUT.format(schema=dumps(output_schema)) if output_schema is not None else TEXT_OUTPUT)
    return {"role": "system", "content": "\n".join(parts)}


def call_content(tool_name: str, arguments: dict[str, Any]) -> str:
    return f"Call {tool_name} with arguments:\n{dumps(arguments)}"


def answer_text(output: ToolOutput | Any) -> str:
    """How an output is written as the assistant's answer: JSON, text, or `Error: <text>`."""
    if not isinstance(output, ToolOutput):
        output = ToolOutput(output)
    if output.is_error:
        return ERROR_PREFIX + output.text
    return output.text


def result_content(record: CallRecord) -> str:
    return answer_text(record.output)


def history_turns(history: Sequence[CallRecord]) -> list[tuple[Message, Message]]:
    return [({"role": "user", "content": call_content(r.tool, r.arguments)},
             {"role": "assistant", "content": result_content(r)}) for r in history]


def current_message(tool_name: str, arguments: dict[str, Any], hidden_context: str | None) -> Message:
    content = call_content(tool_name, arguments)
    if hidden_context:
        content = f"{HIDDEN_HEADER}\n{hidden_context}\n\n{content}"
    return {"role": "user", "content": content}


@dataclass(frozen=True)
class RenderedPrompt:
    messages: list[Message]
    dropped_turns: int  # history turns left out to fit the token budget
    version: str = PROMPT_FORMAT_VERSION


def render_prompt(request: SimulationRequest, *, token_budget: int | None = None,
                  count_tokens: TokenCounter = estimate_tokens) -> RenderedPrompt:
    """The chat messages for `request` (see the module doc), fitted to `token_budget` if given."""
    if request.resource is None:
        head = [system_message(request.tool, request.output_schema)]
        tail = [current_message(request.tool.name, request.arguments, request.hidden_context)]
    else:  # a resources/read (see prompt/resource.py): the same layout with the resource for the tool
        from gtm_mcp.contract.prompt.resource import resource_current_message, resource_system_message

        head = [resource_system_message(request.resource)]
        tail = [resource_current_message(request.resource, request.hidden_context)]
    turns = history_turns(request.history)
    if request.repair is not None:
        tail += [{"role": "assistant", "content": request.repair.previous_answer},
                 {"role": "user", "content": REPAIR_TEMPLATE.format(problem=request.repair.problem)}]
    dropped = 0
    if token_budget is not None and turns:
        fixed = sum(message_cost(m["content"], count_tokens) for m in head + tail)
        turn_costs = [message_cost(u["content"], count_tokens) + message_cost(a["content"], count_tokens)
                      for u, a in turns]
        total = fixed + sum(turn_costs)
        while dropped < len(turns) and total > token_budget:
            total -= turn_costs[dropped]
            dropped += 1
    messages = list(head)
    for user, assistant in turns[dropped:]:
        messages += [user, assistant]
    messages += tail
    return RenderedPrompt(messages, dropped)


def render_messages(request: SimulationRequest, *, token_budget: int | None = None,
                    count_tokens: TokenCounter = estimate_tokens) -> list[Message]:
    """Chat messages (`[{"role", "content"}, ...]`) for `request`; see `render_prompt`."""
    return render_prompt(request, token_budget=token_budget, count_tokens=count_tokens).messages


def render_training_example(request: SimulationRequest, answer: ToolOutput | Any, *,
                            token_budget: int | None = None,
                            count_tokens: TokenCounter = estimate_tokens) -> dict[str, Any]:
    """One supervised example in the chat format TRL/`apply_chat_template` read: the exact messages
    the server would send for `request`, plus the target answer as the final assistant turn.
    `answer` is a `ToolOutput` (JSON, text or error) or a bare JSON value / text."""
    messages = render_messages(request, token_budget=token_budget, count_tokens=count_tokens)
    return {"format": PROMPT_FORMAT_VERSION,
            "messages": [*messages, {"role": "assistant", "content": answer_text(answer)}]}
