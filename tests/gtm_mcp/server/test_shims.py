"""HTTP shims, driven with the exact requests their clients send: StableToolBench's `rapidapi.py`
(`POST /virtual`, ToolBench-standardised names, `tool_input` as JSON text) and Search-R1's
`generation.py` (`POST /retrieve` with a batch of queries), against a real server process with
real StableToolBench APIs from ../shared/data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from conftest import EXAMPLE_TOOLS, STABLETOOLBENCH, need, run_server


def toolbench_standardize(name: str) -> str:  # ToolBench's `standardize` for ASCII names
    name = re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9_]", "_", name)).lower().strip("_")
    return "get_" + name if name and name[0].isdigit() else name


@pytest.fixture(scope="module")
def shim_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[dict]]]:
    queries = need(STABLETOOLBENCH / "G1_instruction.json")
    apis = [a for q in json.loads(queries.read_text())[:5] for a in q["api_list"]]
    with run_server("--tools", str(queries), str(EXAMPLE_TOOLS), "--skip-invalid",
                    tmp_path=tmp_path_factory.mktemp("shims")) as server:
        yield server.base, apis


def rapidapi_payload(api: dict, tool_input: str) -> dict:
    """What StableToolBench's rapidapi.py posts for one call."""
    api_name = toolbench_standardize(api["api_name"])
    api_name = "is_" + api_name if api_name in {"from", "class", "return", "false", "true", "id", "and"} else api_name
    return {"category": api["category_name"], "tool_name": toolbench_standardize(api["tool_name"]),
            "api_name": api_name, "tool_input": tool_input, "strip": "truncate", "toolbench_key": ""}


def test_stabletoolbench_virtual_api(shim_server) -> None:
    base, apis = shim_server
    api = next(a for a in apis if a["required_parameters"])
    arguments = {p["name"]: p.get("default") or "x" for p in api["required_parameters"]}
    payload = rapidapi_payload(api, json.dumps(arguments))
    answer = httpx.post(f"{base}/virtual", json=payload, headers={"toolbench_key": ""}, timeout=30).json()
    assert answer["error"] == "" and isinstance(json.loads(answer["response"]), dict)

    missing = httpx.post(f"{base}/virtual", json=rapidapi_payload(api, "{}"), timeout=30).json()
    assert missing["response"] == "" and api["required_parameters"][0]["name"] in missing["error"]
    broken = httpx.post(f"{base}/virtual", json=rapidapi_payload(api, "{not json"), timeout=30).json()
    assert broken == {"error": "Tool input parse error...\n", "response": ""}
    unknown = httpx.post(f"{base}/virtual", json={**payload, "api_name": "no_such_api"}, timeout=30).json()
    assert unknown["response"] == "" and "doesn't exist" in unknown["error"]
    episode = httpx.post(f"{base}/virtual/episode-7", json=payload, timeout=30).json()
    assert episode["error"] == ""
    history = httpx.get(f"{base}/admin/sessions/episode-7", timeout=10).json()["history"]
    assert [c["arguments"] for c in history] == [arguments]


def test_search_r1_retrieve(shim_server) -> None:
    base, _ = shim_server
    payload = {"queries": ["who wrote hamlet", "capital of peru"], "topk": 3, "return_scores": True}
    result = httpx.post(f"{base}/retrieve", json=payload, timeout=30).json()["result"]
    assert len(result) == 2
    for per_query in result:
        assert 1 <= len(per_query) <= 3
        for item in per_query:
            content = item["document"]["contents"]  # Search-R1's _passages2string reads exactly this
            title, text = content.split("\n")[0], "\n".join(content.split("\n")[1:])
            assert title and text and isinstance(item["score"], float)
    bare = httpx.post(f"{base}/retrieve", json={"queries": ["x"], "topk": 2}, timeout=30).json()["result"]
    assert "contents" in bare[0][0]
    assert httpx.post(f"{base}/retrieve", json={"queries": "x"}, timeout=30).status_code == 422
