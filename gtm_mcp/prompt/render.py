"""Rendering a simulation request into chat messages (prompt format `gtm-prompt/1`).

Layout, stable parts first so that an engine's prefix cache is reused:

1. `system`: the instructions and the tool definition (name, description, input schema, output
   schema). Identical for every call of one tool, whatever the session.
2. the session's history, oldest first: one `user` turn per earlier call (tool name + arguments)
   and one `assistant` turn with the result it got. A session's prompt therefore only grows at the
   end from one call to the next.
3. the current call, last, as a `user` turn: the hidden context (if any), then tool name and arguments.
4. on a repair round: the refused answer as an `assistant` turn and the problem as a `user` turn.

Roles alternate strictly (system, user, assistant, ..., user) so every chat template accepts it.
When a token budget is given, the oldest history turns are dropped first; the definition, the
hidden context and the current arguments are never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gtm_mcp.backends.base import CallRecord, SimulationRequest
from gtm_mcp.tools.definition import ToolDefinition

PROMPT_FORMAT_VERSION = "gtm-prompt/1"

Message = dict[str, str]
TokenCounter = Callable[[str], int]

INSTRUCTIONS = (
    "You are a Generalist Tool Model: you simulate the tool defined below. For each call, reply with "
    "the output the real tool would return for these arguments, consistent with the earlier calls of "
    "this session and with the hidden context when one is given. Reply with one JSON value that "
    "satisfies the output schema, and nothing else."
)
HIDDEN_HEADER = "Hidden context (the caller never sees it; keep the output consistent with it):"
REPAIR_TEMPLATE = (
    "That output was refused: {problem}\n"
    "Reply again with only the corrected JSON output, satisfying the output schema."
)
ERROR_PREFIX = "Error: "
#: Per-message overhead of chat templates (role markers), in tokens, used for the budget.
MESSAGE_OVERHEAD = 4


def dumps(value: Any) -> str:
    """The one JSON spelling used in prompts and training targets (key order kept, unicode kept)."""
    return json.dumps(value, ensure_ascii=False)


def approx_tokens(text: str) -> int:
    """A cheap token estimate (~4 characters per token) when no tokenizer is at hand."""
    return len(text) // 4 + 1


def system_message(tool: ToolDefinition, output_schema: dict[str, Any] | None = None) -> Message:
    """The stable first message: instructions and the tool definition."""
    schema = output_schema if output_schema is not None else tool.output_schema
    parts = [INSTRUCTIONS, "", f"# Tool: {tool.name}"]
    if tool.description:
        parts.append(tool.description)
    parts += ["", "# Input schema", dumps(tool.input_schema)]
    parts += ["", "# Output schema", dumps(schema) if schema is not None else "(none given: reply with a JSON object)"]
    return {"role": "system", "content": "\n".join(parts)}


def call_content(tool_name: str, arguments: dict[str, Any]) -> str:
    return f"Call {tool_name} with arguments:\n{dumps(arguments)}"


def result_content(record: CallRecord) -> str:
    if record.is_error:
        text = record.result if isinstance(record.result, str) else dumps(record.result)
        return ERROR_PREFIX + text
    return dumps(record.result)


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
                  count_tokens: TokenCounter = approx_tokens) -> RenderedPrompt:
    """The chat messages for `request` (see the module doc), fitted to `token_budget` if given."""
    head = [system_message(request.tool, request.output_schema)]
    turns = history_turns(request.history)
    tail = [current_message(request.tool.name, request.arguments, request.hidden_context)]
    if request.repair is not None:
        tail += [{"role": "assistant", "content": request.repair.previous_answer},
                 {"role": "user", "content": REPAIR_TEMPLATE.format(problem=request.repair.problem)}]
    dropped = 0
    if token_budget is not None and turns:
        def cost(message: Message) -> int:
            return count_tokens(message["content"]) + MESSAGE_OVERHEAD

        fixed = sum(cost(m) for m in head + tail)
        turn_costs = [cost(u) + cost(a) for u, a in turns]
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
                    count_tokens: TokenCounter = approx_tokens) -> list[Message]:
    """Chat messages (`[{"role", "content"}, ...]`) for `request`; see `render_prompt`."""
    return render_prompt(request, token_budget=token_budget, count_tokens=count_tokens).messages


def render_training_example(request: SimulationRequest, answer: Any, *, token_budget: int | None = None,
                            count_tokens: TokenCounter = approx_tokens) -> dict[str, Any]:
    """One supervised example in the chat format TRL/`apply_chat_template` read: the exact messages
    the server would send for `request`, plus the target answer as the final assistant turn.
    `answer` is the tool output (any JSON value) or already-rendered text."""
    messages = render_messages(request, token_budget=token_budget, count_tokens=count_tokens)
    target = answer if isinstance(answer, str) else dumps(answer)
    return {"format": PROMPT_FORMAT_VERSION, "messages": [*messages, {"role": "assistant", "content": target}]}
