"""The token budget: one way to count a prompt's tokens and to decide how much history fits,
shared by serving (both model backends) and by training-data rendering, so that a model is
trained on exactly the prompts it is later served.

With a tokenizer (the model is known: the local backend, training, `--tokenizer` for the openai
backend) tokens are counted exactly; without one, a conservative estimate (JSON-heavy prompts run
~3 characters per token) keeps the prompt under the window rather than over it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TokenCounter = Callable[[str], int]

#: JSON-heavy prompts run ~3 characters per token: estimates err on the side of fitting.
CHARS_PER_TOKEN = 3
#: Per-message overhead of chat templates (role markers), in tokens.
MESSAGE_OVERHEAD = 4


def estimate_tokens(text: str) -> int:
    """A conservative token estimate for when no tokenizer is at hand."""
    return len(text) // CHARS_PER_TOKEN + 1


def token_counter(tokenizer: Any | None = None) -> TokenCounter:
    """Exact counting with a Hugging Face tokenizer when given, else `estimate_tokens`."""
    if tokenizer is None:
        return estimate_tokens

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count


def prompt_budget(context_window: int | None, max_new_tokens: int) -> int | None:
    """Tokens the prompt may take: the window minus the room kept for the answer (None: no limit)."""
    if context_window is None:
        return None
    return max(context_window - max_new_tokens, 1)


def message_cost(content: str, count_tokens: TokenCounter) -> int:
    return count_tokens(content) + MESSAGE_OVERHEAD
