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
    assert card["left_out"].get("episode whose tools cross splits", 0) == (len(multi_split) > 1)


def _recorded(server: str, tools: list[ToolDefinition], splits: tuple[str, ...]) -> list[EpisodeRecord]:
    """Recorded episodes of one server (outputs written here, as the recorder stores real ones)."""
    return [EpisodeRecord(id=f"{server}:{k}", tools=tools, source=f"recorded:{server}", meta={"split": split},
                          calls=[CallRecord(t.name, {"path": f"/w/{k}.txt"}, f"{server} says {k}", k % 2 == 1,
                                            "real") for t in tools])
            for k, split in enumerate(splits)]


def _server_tool(name: str, server: str) -> ToolDefinition:
    return ToolDefinition(name=name, description=f"{name} of the {server} server.", server=server,
                          input_schema={"type": "object", "properties": {"path": {"type": "string"}}})


def test_export_holds_out_whole_servers_and_a_share_of_generated_tools(tmp_path: Path) -> None:
    """The default split of a corpus like the shipped one: whole recorded servers held out (test:
    time and sqlite, validation: everything), a share of the generated tools per split, every other
    recorded tool in train with its held-out episodes apart; deterministic by seed."""
    tools = list(seal_sample())[:150]
    time_tools = [_server_tool("get_current_time", "time"), _server_tool("convert_time", "time")]
    sqlite_tools = [_server_tool("read_query", "sqlite")]
    everything_tools = [_server_tool("echo", "everything")]
    git_tools = [_server_tool("git_status", "git")]
    episodes = _episodes(tools)
    for server, server_tools in (("time", time_tools), ("sqlite", sqlite_tools), ("everything", everything_tools),
                                 ("git", git_tools)):
        episodes += _recorded(server, server_tools, ("train", "heldout", "train", "train"))
    source = tmp_path / "episodes.jsonl"
    source.write_text("".join(e.to_json_line() + "\n" for e in episodes), encoding="utf-8")

    def rows(out: Path, split: str) -> list[dict]:
        return [json.loads(x) for x in (out / "sft" / f"{split}.jsonl").read_text().splitlines()]

    out = tmp_path / "a"
    card = export(out, [source], ExportSettings(seed=11, progress=False))  # the defaults
    tools_in = {s: {r["tool"] for r in rows(out, s)} for s in ("train", "validation", "test", "heldout_episodes")}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        assert not tools_in[a] & tools_in[b]
    # whole servers, every episode of them (held-out ones too), in their split and nowhere else
    assert {"get_current_time", "convert_time", "read_query"} <= tools_in["test"]
    assert "echo" in tools_in["validation"]
    test_ids = {r["episode_id"] for r in rows(out, "test")}
    assert {f"{s}:{k}" for s in ("time", "sqlite") for k in range(4)} <= test_ids
    assert {r["episode_id"] for r in rows(out, "validation") if r["tool"] == "echo"} == {f"everything:{k}"
                                                                                         for k in range(4)}
    # held-out episodes: only of recorded tools that train (git, filesystem), never of a held-out server
    assert tools_in["heldout_episodes"] == {"git_status", "read_file"} <= tools_in["train"]
    assert {r["episode_id"] for r in rows(out, "heldout_episodes")} == {"git:1", "filesystem:1"}
    # generated tools: roughly the default shares (0.7/0.1/0.2) of the tools exported
    generated = {r["tool"] for s in ("train", "validation", "test") for r in rows(out, s) if r["kind"] != "recorded"}
    share = {s: len(generated & tools_in[s]) / len(generated) for s in ("train", "validation", "test")}
    assert 0.55 < share["train"] < 0.85 and 0.03 < share["validation"] < 0.2 and 0.1 < share["test"] < 0.32
    assert card["splits"]["test"]["servers"] == ["sqlite", "time"]
    assert card["splits"]["validation"]["servers"] == ["everything"]
    assert card["splits"]["test"]["by_kind"]["recorded"] == 12
    assert card["settings"]["holdout_servers"] == {"validation": ["everything"], "test": ["time", "sqlite"]}
    assert "held out whole" in (out / "card.md").read_text()
    listed = {t["name"]: t["split"] for t in map(json.loads, (out / "tools.jsonl").read_text().splitlines())}
    assert listed["convert_time"] == "test" and listed["echo"] == "validation" and listed["git_status"] == "train"

    # same seed, same files; another seed moves generated tools but never the held-out servers
    again = tmp_path / "b"
    export(again, [source], ExportSettings(seed=11, progress=False))
    for split in ("train", "validation", "test", "heldout_episodes"):
        assert (out / "sft" / f"{split}.jsonl").read_bytes() == (again / "sft" / f"{split}.jsonl").read_bytes()
    other = tmp_path / "c"
    export(other, [source], ExportSettings(seed=12, progress=False))
    assert {r["tool"] for r in rows(other, "test")} != tools_in["test"]
    assert {"get_current_time", "read_query"} <= {r["tool"] for r in rows(other, "test")}

    # configurable: another hold-out (and a server that is not there, reported), other shares
    custom = tmp_path / "d"
    card = export(custom, [source], ExportSettings(seed=11, shares={"train": 0.5, "validation": 0.0, "test": 0.5},
                                                   holdout_servers={"test": ["git", "nope"]}, progress=False))
    assert "git_status" in {r["tool"] for r in rows(custom, "test")}
    assert {"get_current_time", "echo"} <= {r["tool"] for r in rows(custom, "train")}
    assert {r["tool"] for r in rows(custom, "heldout_episodes")} == {"get_current_time", "convert_time",
                                                                     "read_query", "echo", "read_file"}
    assert not rows(custom, "validation") and card["settings"]["holdout_servers_missing"] == ["nope"]
