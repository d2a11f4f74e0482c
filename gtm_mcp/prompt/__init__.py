"""The prompt format (`gtm-prompt/1`), defined once: how a tool definition, the session's history,
the hidden context and the arguments become chat messages, and how the answer is read back.

The server (`openai`/`local` backends), synthesis and training all use this code, so a model is
served exactly as it was trained. See docs/backends.md for an exact rendering.
"""

from __future__ import annotations

from gtm_mcp.prompt.parse import parse_answer
from gtm_mcp.prompt.render import (
    PROMPT_FORMAT_VERSION,
    Message,
    RenderedPrompt,
    approx_tokens,
    dumps,
    render_messages,
    render_prompt,
    render_training_example,
    system_message,
)

__all__ = ["PROMPT_FORMAT_VERSION", "Message", "RenderedPrompt", "approx_tokens", "dumps", "parse_answer",
           "render_messages", "render_prompt", "render_training_example", "system_message"]
