"""The prompt format (`gtm-prompt/2`), defined once: how a tool definition, the session's history,
the hidden context and the arguments become chat messages, how much history fits a model's window,
and how the answer is read back.

The server (`openai`/`local` backends), synthesis and training all use this code, so a model is
served exactly as it was trained. See docs/backends.md for an exact rendering.
"""

from __future__ import annotations

from gtm_mcp.contract.prompt.budget import (
    TokenCounter,
    estimate_tokens,
    prompt_budget,
    token_counter,
)
from gtm_mcp.contract.prompt.parse import parse_answer, read_answer
from gtm_mcp.contract.prompt.render import (
    ERROR_PREFIX,
    Message,
    RenderedPrompt,
    answer_text,
    dumps,
    render_messages,
    render_prompt,
    render_training_example,
    system_message,
)
from gtm_mcp.contract.versions import PROMPT_FORMAT_VERSION

__all__ = ["ERROR_PREFIX", "PROMPT_FORMAT_VERSION", "Message", "RenderedPrompt", "TokenCounter", "answer_text",
           "dumps", "estimate_tokens", "parse_answer", "prompt_budget", "read_answer", "render_messages",
           "render_prompt", "render_training_example", "system_message", "token_counter"]
