"""coverage_analysis: loading, deduplication and bad inputs (fast: no embedding model is loaded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coverage_analysis import CoverageInputError
from coverage_analysis.cli import main
from coverage_analysis.loading import load_side, parse_probe, readable_name, sample
from coverage_analysis.render import script_json

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared tool data not found at {DATA}")

GOOD_TOOL = {"name": "get_weather", "description": "Current weather for a city",
             "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}}}


def run_cli(tmp_path: Path, *args: str) -> int:
    return main([*args, "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"), "-q"])


def good_file(tmp_path: Path) -> Path:
    path = tmp_path / "good.json"
    path.write_text(json.dumps({"tools": [GOOD_TOOL]}))
    return path


def test_missing_file_is_exit_2_naming_it(tmp_path, capsys):
    missing = tmp_path / "nope.json"
    assert run_cli(tmp_path, "--real", str(missing), "--simulated", str(good_file(tmp_path))) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "no such file" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_file_without_tools_is_exit_2(tmp_path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"hello": "world"}))
    assert run_cli(tmp_path, "--real", str(good_file(tmp_path)), "--simulated", str(empty)) == 2
    err = capsys.readouterr().err
    assert str(empty) in err and "no tool definitions" in err and "simulated" in err


def test_invalid_json_is_exit_2_with_position(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text('{"tools": [ {"name": "x",, } ]}')
    assert run_cli(tmp_path, "--real", str(broken), "--simulated", str(good_file(tmp_path))) == 2
    err = capsys.readouterr().err
    assert str(broken) in err and "invalid JSON at line 1" in err


def broken_definitions(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.json"
    bad = {"name": "bad_tool", "description": "x", "inputSchema": {"type": "string"}}
    path.write_text(json.dumps({"tools": [GOOD_TOOL, bad]}))
    return path


def test_broken_definitions_are_skipped_with_their_pointer(tmp_path):
    side = load_side([broken_definitions(tmp_path)], "real")
    assert [t.name for t in side.tools] == ["get_weather"]
    assert len(side.problems) == 1
    problem = side.problems[0]
    assert problem.tool == "bad_tool" and problem.pointer == "/tools/1/inputSchema/type"
    assert side.counts()["problems_skipped"] == 1


def test_broken_definitions_refused_under_strict(tmp_path, capsys):
    mixed = broken_definitions(tmp_path)
    assert run_cli(tmp_path, "--real", str(mixed), "--simulated", str(good_file(tmp_path)), "--strict") == 2
    err = capsys.readouterr().err
    assert str(mixed) in err and "'bad_tool'" in err and "/tools/1/inputSchema/type" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--probe", "no_equals_sign"], "expected NAME=DESCRIPTION"),
    (["--threshold", "1.5"], "must be between 0 and 1"),
])
def test_bad_options_are_exit_2(tmp_path, capsys, args, message):
    good = good_file(tmp_path)
    assert run_cli(tmp_path, "--real", str(good), "--simulated", str(good), *args) == 2
    assert message in capsys.readouterr().err


def test_probe_parsing():
    probe = parse_probe("web_search=Search the web = pages")
    assert (probe.name, probe.description, probe.kind) == ("web_search", "Search the web = pages", "probe")
    with pytest.raises(CoverageInputError):
        parse_probe("=no name")


def test_readable_names():
    assert readable_name("get_weatherForecast") == "get weather Forecast"
    assert readable_name("search-museum-objects") == "search museum objects"


@needs_data
def test_registry_duplicates_dropped_and_names_unqualified():
    side = load_side([DATA / "toolsdk-mcp-registry" / "packages-list.json"], "real")
    assert side.loaded == 8010
    assert 0 < side.duplicates < 2000
    assert len(side.tools) == side.loaded - side.duplicates
    assert len({t.key for t in side.tools}) == len(side.tools)
    # `package__name` qualification from the importer is removed for display and deduplication
    qualified = [t for t in side.tools if t.server and "__" in t.name and t.name.startswith(t.server.strip("@"))]
    assert not qualified
    assert all(t.server and t.domain for t in side.tools)


@needs_data
def test_sampling_keeps_proportions_and_is_seeded():
    def load():
        return (load_side([DATA / "livemcpbench" / "tools.json"], "real"),
                load_side([DATA / "stabletoolbench" / "G1_tool.json"], "simulated"))
    real, sim = load()
    n_real, n_sim = len(real.tools), len(sim.tools)
    sample(real, sim, 200, seed=1)
    assert len(real.tools) + len(sim.tools) == 200
    assert abs(len(real.tools) / 200 - n_real / (n_real + n_sim)) < 0.02
    assert real.sampled_out == n_real - len(real.tools)
    real2, sim2 = load()
    sample(real2, sim2, 200, seed=1)
    assert [t.key for t in real2.tools] == [t.key for t in real.tools]


def test_inline_json_cannot_close_the_script():
    text = script_json({"d": ["</script><img src=x onerror=alert(1)> & 搜索"]})
    assert "</script" not in text and "<img" not in text
    assert json.loads(text) == {"d": ["</script><img src=x onerror=alert(1)> & 搜索"]}
