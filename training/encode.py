"""From an SFT record to token ids, exactly as a served model sees the prompt.

Two rules make a model trained here see what `gtm-mcp serve --backend local|openai` sends it:

1. **The token budget** (`fit_messages`): the prompt is fitted to `prompt_budget(max_length,
   max_new_tokens)` by dropping the oldest history turns, with the same cost function
   (`gtm_mcp.contract.prompt.budget.message_cost`, counted with the model's tokenizer through
   `token_counter`) and the same order as `render_prompt` does when serving. Serve the model with
   `--context-window MAX_LENGTH --max-new-tokens MAX_NEW_TOKENS` and the prompts are identical.
2. **The tokenization** (`encode`): the prompt is the chat template applied with
   `add_generation_prompt=True` and tokenized without added special tokens, which is what the local
   backend does (and what vLLM does with a chat request); the target is the rest of the templated
   conversation (the answer and the end-of-turn token, so the model learns to stop). Loss is
   computed on the target only (`completion_mask`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gtm_mcp.contract.prompt import TokenCounter, prompt_budget, token_counter
from gtm_mcp.contract.prompt.budget import message_cost
from training.data import SFTRecord


def fit_messages(prompt: list[dict[str, str]], token_budget: int | None,
                 count_tokens: TokenCounter) -> tuple[list[dict[str, str]], int]:
    """`prompt` ([system, (user, assistant)*, user]) with the oldest history turns dropped until it
    fits `token_budget`, as `gtm_mcp.contract.prompt.render_prompt` fits a served prompt. Returns the
    messages and the number of turns dropped. The system message and the current call always stay."""
    head, turns_flat, tail = prompt[:1], prompt[1:-1], prompt[-1:]
    turns = [(turns_flat[i], turns_flat[i + 1]) for i in range(0, len(turns_flat) - 1, 2)]
    dropped = 0
    if token_budget is not None and turns:
        fixed = sum(message_cost(m["content"], count_tokens) for m in head + tail)
        costs = [message_cost(u["content"], count_tokens) + message_cost(a["content"], count_tokens)
                 for u, a in turns]
        total = fixed + sum(costs)
        while dropped < len(turns) and total > token_budget:
            total -= costs[dropped]
            dropped += 1
    messages = list(head)
    for user, assistant in turns[dropped:]:
        messages += [user, assistant]
    return messages + tail, dropped


@dataclass
class EncodeStats:
    """What happened to the records on their way to token ids (written to the model card)."""

    kept: int = 0
    dropped_turns: int = 0
    fitted_records: int = 0
    too_long_target: int = 0
    too_long_prompt: int = 0
    target_tokens: int = 0
    prompt_tokens: int = 0
    skipped_examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"kept": self.kept, "history_turns_dropped": self.dropped_turns,
                "records_with_history_dropped": self.fitted_records,
                "skipped_target_over_max_new_tokens": self.too_long_target,
                "skipped_over_max_length": self.too_long_prompt,
                "prompt_tokens": self.prompt_tokens, "target_tokens": self.target_tokens}


class Encoder:
    """Turns SFT records into `input_ids` + `completion_mask` for one tokenizer and budget."""

    def __init__(self, tokenizer: Any, *, max_length: int, max_new_tokens: int) -> None:
        if max_new_tokens >= max_length:
            raise ValueError(f"max_new_tokens ({max_new_tokens}) must be below max_length ({max_length})")
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("the tokenizer has no chat template: the served prompt cannot be reproduced")
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.max_new_tokens = max_new_tokens
        self.budget = prompt_budget(max_length, max_new_tokens)
        self.count_tokens = token_counter(tokenizer)

    def prompt_text(self, prompt: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)

    def encode(self, record: SFTRecord, stats: EncodeStats | None = None) -> dict[str, list[int]] | None:
        """`{"input_ids", "completion_mask"}`, or None when the record cannot be served within the
        budget (its target is longer than `max_new_tokens`, or even its fixed part overflows)."""
        stats = stats if stats is not None else EncodeStats()
        prompt, dropped = fit_messages(record.prompt, self.budget, self.count_tokens)
        prompt_text = self.prompt_text(prompt)
        full_text = self.tokenizer.apply_chat_template([*prompt, record.messages[-1].model_dump()], tokenize=False)
        if not full_text.startswith(prompt_text):
            raise ValueError("the chat template renders the prompt differently once the answer follows it; "
                             "the served prompt cannot be reproduced with this tokenizer")
        prompt_ids = self.tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
        target_ids = self.tokenizer(full_text[len(prompt_text):], add_special_tokens=False)["input_ids"]
        answer_ids = self.tokenizer(record.target, add_special_tokens=False)["input_ids"]
        if len(answer_ids) >= self.max_new_tokens:  # served: the answer and its end-of-turn token must fit
            stats.too_long_target += 1
            _note(stats, f"{record.tool}: target of {len(answer_ids)} tokens > max_new_tokens {self.max_new_tokens}")
            return None
        if len(prompt_ids) + len(target_ids) > self.max_length:
            stats.too_long_prompt += 1
            _note(stats, f"{record.tool}: {len(prompt_ids) + len(target_ids)} tokens > max_length {self.max_length}")
            return None
        stats.kept += 1
        stats.dropped_turns += dropped
        stats.fitted_records += bool(dropped)
        stats.prompt_tokens += len(prompt_ids)
        stats.target_tokens += len(target_ids)
        return {"input_ids": prompt_ids + target_ids,
                "completion_mask": [0] * len(prompt_ids) + [1] * len(target_ids)}

    def encode_all(self, records: list[SFTRecord]) -> tuple[dict[str, list[list[int]]], EncodeStats]:
        stats = EncodeStats()
        columns: dict[str, list[list[int]]] = {"input_ids": [], "completion_mask": []}
        for record in records:
            encoded = self.encode(record, stats)
            if encoded is not None:
                columns["input_ids"].append(encoded["input_ids"])
                columns["completion_mask"].append(encoded["completion_mask"])
        return columns, stats


def _note(stats: EncodeStats, message: str) -> None:
    if len(stats.skipped_examples) < 5:
        stats.skipped_examples.append(message)
