"""Embedding-based dedup and grouping on real tools (the packaged all-MiniLM-L6-v2, offline), checked
against an exact pairwise reference; and the export (splits by tool, held-out episodes, the card)
loaded with `datasets` as it is."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from synth_data import real_mix, seal_sample

from gtm_mcp.backends.schema import SchemaBackend
from gtm_mcp.calls.arguments import check_arguments, format_problems
from gtm_mcp.contract import CallRecord, EpisodeRecord, SimulationRequest, ToolDefinition
from gtm_mcp.contract.prompt import estimate_tokens, prompt_budget, render_training_example
from synthesis.dedup import near_duplicates
from synthesis.embed import Embedder
from synthesis.errorgen import bad_call
from synthesis.export import ExportSettings, export
from synthesis.grouping import greedy_groups
from synthesis.splits import tool_split
from synthesis.values import sample_arguments


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(progress=False)  # the project's embedding cache: vectors are keyed by text and model


def near_copy(tool: ToolDefinition) -> ToolDefinition:
    """The same API under another name, its description reworded a little (what a teacher repeats)."""
    words = tool.description.replace("Retrieve", "Get").replace("Get ", "Fetch ").replace("the ", "")
    return tool.model_copy(update={"name": tool.name + "V2", "description": words})


def exact_keep(vectors: np.ndarray, threshold: float) -> list[int]:
    """The O(n^2) reference: keep a tool unless an earlier kept tool is within the threshold."""
    sims = vectors @ vectors.T
    kept: list[int] = []
    for i in range(len(vectors)):
        if not any(sims[i, j] >= threshold for j in kept):
            kept.append(i)
    return kept


def test_dedup_drops_near_copies_keeps_imported_first_and_matches_the_exact_pass(embedder: Embedder) -> None:
    base = list(random.Random(1).sample(real_mix(), 200))
    copies = [near_copy(t) for t in base[:12] if len(t.description) > 30]
    tools = base + copies  # imported first, generated after
    vectors = embedder.embed_tools(tools)
    result = near_duplicates([t.name for t in tools], vectors, 0.8, top_k=32)
    dropped = {tools[i].name for i in result.duplicate_of}
    assert {c.name for c in copies} <= dropped  # every near copy goes
    for i, (j, score) in result.duplicate_of.items():
        assert j < i and score >= 0.8  # an earlier (imported) tool always wins
    assert result.kept == exact_keep(vectors, 0.8)
    again = near_duplicates([t.name for t in tools], vectors, 0.8, top_k=32)
    assert again.kept == result.kept
    twice = near_duplicates(["a", "a"], embedder.embed(["same text", "same text again"]), 0.99)
    assert twice.same_name == {1: 0}


def test_groups_are_coherent_disjoint_and_within_one_split(embedder: Embedder) -> None:
    tools = list(seal_sample())[:300]
    vectors = embedder.embed_tools(tools)
    labels = [tool_split(t.name, 3) for t in tools]
    groups = greedy_groups(vectors, random.Random(4), groups=30, size=(2, 4), threshold=0.5, labels=labels)
    assert len(groups) >= 10
    seen: set[int] = set()
    for group in groups:
        assert 2 <= len(group.members) <= 4
        assert not seen & set(group.members)
        seen |= set(group.members)
        assert len({labels[m] for m in group.members}) == 1
        block = vectors[list(group.members)]
        sims = block @ block.T
        n = len(group.members)
        assert group.coherence == pytest.approx((sims.sum() - n) / (n * (n - 1)), abs=1e-5)
        assert group.coherence >= 0.5
    same = greedy_groups(vectors, random.Random(4), groups=30, size=(2, 4), threshold=0.5, labels=labels)
    assert same == groups


def _episodes(tools: list[ToolDefinition]) -> list[EpisodeRecord]:
    """Single-turn, error and multi-turn episodes over real tools (outputs from the schema backend,
    error texts from the server's own check), plus recorded episodes of one tool."""
    backend = SchemaBackend(seed=1)
    out = []
    for i, tool in enumerate(tools):
        args = sample_arguments(tool, random.Random(i))
        if args is None:
            continue
        request = SimulationRequest(tool, args, f"s{i}", tool.output_schema or {"type": "object"})
        out.append(EpisodeRecord(id=f"single:{tool.name}", tools=[tool], source="carg:single",
                                 calls=[CallRecord(tool.name, args, backend.simulate_now(request))]))
        bad = bad_call("wrong_type", tool, args, random.Random(i))
        if bad is not None:
            message = format_problems(tool, check_arguments(tool, bad.arguments))
            out.append(EpisodeRecord(id=f"error:{tool.name}", tools=[tool], source="carg:error",
                                     calls=[CallRecord(tool.name, bad.arguments, message, True)]))
    a, b = tools[0], tools[1]
    out.append(EpisodeRecord(id="multi:0", tools=[a, b], source="carg:multi", hidden_context="A busy Monday.",
                             calls=[CallRecord(a.name, out[0].calls[0].arguments, out[0].calls[0].result),
                                    CallRecord(b.name, {}, "text answer")]))
    reader = ToolDefinition(name="read_file", description="Read a file.", server="filesystem",
                            input_schema={"type": "object", "properties": {"path": {"type": "string"}},
                                          "required": ["path"]})
    for k, split in enumerate(("train", "heldout", "train")):
        out.append(EpisodeRecord(id=f"filesystem:{k}", tools=[reader], source="recorded:filesystem",
                                 meta={"split": split},
                                 calls=[CallRecord("read_file", {"path": "/w/a.txt"}, "hello\n", origin="real"),
                                        CallRecord("read_file", {"path": "/w/b.txt"}, "ENOENT: no such file", True,
                                                   "real")]))
    return out


def test_export_is_split_by_tool_rendered_exactly_and_loads_with_datasets(tmp_path: Path) -> None:
    import datasets

    tools = list(seal_sample())[:120]
    episodes = _episodes(tools)
    source = tmp_path / "episodes.jsonl"
    source.write_text("".join(e.to_json_line() + "\n" for e in episodes), encoding="utf-8")
    out = tmp_path / "export"
    card = export(out, [source], ExportSettings(seed=5, context_window=4096, max_new_tokens=512, progress=False))

    tools_by_split: dict[str, set[str]] = {}
    budget = prompt_budget(4096, 512)
    for split in ("train", "validation", "test", "heldout_episodes"):
        path = out / "sft" / f"{split}.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert card["splits"][split]["sft_records"] == len(rows)
        tools_by_split[split] = {r["tool"] for r in rows}
        if rows:
            loaded = datasets.load_dataset("json", data_files={split: str(path)})[split]
            assert len(loaded) == len(rows)
            assert set(loaded.column_names) == {"messages", "format", "kind", "tool", "source", "episode_id",
                                                "split", "is_error"}
            assert loaded[0]["messages"][-1]["role"] == "assistant"
        # every record is exactly what the server's prompt format renders for that call
        episode_file = out / "episodes" / f"{'heldout' if split == 'heldout_episodes' else split}.jsonl"
        expected = []
        for line in episode_file.read_text().splitlines():
            episode = EpisodeRecord.from_json_line(line)
            for request, call in episode.steps():
                expected.append(render_training_example(request, call.output, token_budget=budget,
                                                        count_tokens=estimate_tokens)["messages"])
        assert [r["messages"] for r in rows] == expected
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        assert not tools_by_split[a] & tools_by_split[b]
    assert tools_by_split["validation"] and tools_by_split["test"]
    assert "read_file" in tools_by_split["train"] and tools_by_split["heldout_episodes"] == {"read_file"}
    heldout = [json.loads(x) for x in (out / "episodes" / "heldout.jsonl").read_text().splitlines()]
    assert [e["id"] for e in heldout] == ["filesystem:1"]
    errors = [json.loads(x) for x in (out / "sft" / "train.jsonl").read_text().splitlines() if '"error"' in x]
    assert any(r["kind"] == "error" and r["is_error"] and r["messages"][-1]["content"].startswith("Error: ")
               for r in errors)
    listed = [json.loads(x) for x in (out / "tools.jsonl").read_text().splitlines()]
    assert all(t["split"] in ("train", "validation", "test") for t in listed)
    assert ToolDefinition(**{k: v for k, v in listed[0].items() if k != "split"}).name == listed[0]["name"]
    for name in ("card.json", "card.md", "tools_per_field.png"):
        assert (out / name).stat().st_size > 100
    multi_split = {tool_split(t.name, 5) for t in tools[:2]}
    assert card["left_out"].get("generated episode whose tools cross splits", 0) == (len(multi_split) > 1)
