"""An episode as SFT records: one per call, each the exact messages the server would send for that
call (`render_training_example`: the tool's definition, the history before the call, the hidden
context, the arguments) with the call's real or generated outcome as the assistant target."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gtm_mcp.contract import EpisodeRecord
from gtm_mcp.contract.prompt import estimate_tokens, prompt_budget, render_training_example

KIND_BY_SOURCE = {"carg:single": "single", "carg:multi": "multi", "carg:error": "error"}


def kind_of(source: str) -> str:
    return KIND_BY_SOURCE.get(source, "recorded" if source.startswith(("recorded:", "tau-bench:")) else "single")


def is_recorded(episode: EpisodeRecord) -> bool:
    return kind_of(episode.source) == "recorded"


def sft_records(episode: EpisodeRecord, split: str, *, context_window: int | None, max_new_tokens: int,
                max_target_chars: int) -> Iterator[dict[str, Any] | None]:
    """One record per call (None for a call whose target is too long to train on)."""
    budget = prompt_budget(context_window, max_new_tokens)
    kind = kind_of(episode.source)
    for request, call in episode.steps():
        example = render_training_example(request, call.output, token_budget=budget, count_tokens=estimate_tokens)
        if len(example["messages"][-1]["content"]) > max_target_chars:
            yield None
            continue
        yield {"messages": example["messages"], "format": example["format"], "kind": kind, "tool": call.tool,
               "source": episode.source, "episode_id": episode.id, "split": split, "is_error": bool(call.is_error)}
