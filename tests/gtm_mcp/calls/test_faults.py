"""Fault and latency injection through the real call path (settings → router → schema backend).

Rates are checked over many calls with a fixed seed, against binomial tolerances; reproducibility
by running the same calls twice (and concurrently, in another order); latency by the delays the
injector draws (no sleeping) plus one lower-bound check of real sleeping.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest

from gtm_mcp.calls.faults import PRESETS, FaultInjector, FaultRule, Latency
from gtm_mcp.calls.pipeline import Outcome, Simulator
from gtm_mcp.calls.routing import RoutingError
from gtm_mcp.config import load_settings
from gtm_mcp.server.runtime import build_simulator

CALLS = [("get_weather", {"city": "Oslo"}), ("create_order", {"product": "lamp", "quantity": 2}),
         ("web_search", {"query": "mcp servers"})]


def simulator(**flags: Any) -> Simulator:
    return build_simulator(load_settings(flags, env={}))


def run_calls(sim: Simulator, n: int, sessions: int = 20, concurrent: bool = False) -> dict[tuple, Any]:
    """n calls spread over sessions (each session's calls in order); returns {(session, i): result}."""
    results: dict[tuple, Any] = {}

    async def one(s: int, i: int) -> None:
        name, args = CALLS[i % len(CALLS)]
        results[(s, i)] = await sim.call(name, args, session_key=f"episode-{s}")

    async def episode(s: int) -> None:
        for i in range(n // sessions):
            await one(s, i)
            if concurrent:
                await anyio.sleep(0)

    async def main() -> None:
        async with sim:
            if concurrent:  # all sessions at once, started in reverse: their calls interleave
                async with anyio.create_task_group() as tg:
                    for s in reversed(range(sessions)):
                        tg.start_soon(episode, s)
            else:
                for s in range(sessions):
                    await episode(s)

    anyio.run(main)
    return results


def fault_of(result: Any) -> str | None:
    return (result.meta.get("gtm-mcp/fault") or {}).get("kind")


def test_fault_rate_and_kind_mix_within_binomial_tolerance() -> None:
    n, rate = 2000, 0.2
    sim = simulator(fault_rate=rate, fault_kinds=["error", "timeout", "empty", "malformed", "oversized"], seed=11)
    sim.router.faults.rules[0] = sim.router.faults.rules[0].model_copy(update={"timeout_s": 0.0})
    results = run_calls(sim, n)
    kinds = Counter(fault_of(r) for r in results.values())
    faulted = n - kinds[None]
    sd = (rate * (1 - rate) / n) ** 0.5
    assert abs(faulted / n - rate) < 4 * sd, (faulted, kinds)
    for kind in ("error", "timeout", "empty", "malformed", "oversized"):  # equal weights: 1/5 of the faults each
        share = kinds[kind] / faulted
        assert abs(share - 0.2) < 4 * (0.2 * 0.8 / faulted) ** 0.5, (kind, kinds)
    assert sim.router.stats()["faults_injected"] == {k: v for k, v in kinds.items() if k}
    assert sim.outcomes["injected_fault"] == kinds["error"] + kinds["timeout"]


def test_same_seed_same_faults_whatever_the_order_other_seed_other_faults(tmp_path: Path) -> None:
    rules = tmp_path / "chaos.yaml"
    rules.write_text("faults:\n  - preset: chaos\n    latency: uniform:0ms,1ms\n    timeout_s: 0\n")
    flags = {"rules": str(rules), "seed": 5}
    first = run_calls(simulator(**flags), 300)
    again = run_calls(simulator(**flags), 300, concurrent=True)  # interleaved differently
    assert {k: fault_of(r) for k, r in first.items()} == {k: fault_of(r) for k, r in again.items()}
    assert [r.meta["gtm-mcp/fault"]["latency_ms"] for r in first.values() if "gtm-mcp/fault" in r.meta] == \
        [again[k].meta["gtm-mcp/fault"]["latency_ms"] for k, r in first.items() if "gtm-mcp/fault" in r.meta]
    other = run_calls(simulator(**{**flags, "fault_seed": 6}), 300)
    assert {k: fault_of(r) for k, r in first.items()} != {k: fault_of(r) for k, r in other.items()}


def test_each_fault_kind_looks_like_what_it_names() -> None:
    def one(kind: str, **extra: Any) -> tuple[Any, Simulator]:
        sim = simulator(fault_rate=1.0, fault_kinds=[kind], **extra)
        sim.router.faults.rules[0] = sim.router.faults.rules[0].model_copy(update={"timeout_s": 0.05,
                                                                                  "oversized_bytes": 300_000})

        async def main() -> Any:
            async with sim:
                return await sim.call("get_weather", {"city": "Oslo"}, session_key="k")

        return anyio.run(main), sim

    error, sim = one("error")
    assert error.is_error and error.outcome is Outcome.INJECTED_FAULT and error.text.startswith("Error: ")
    assert len(sim.sessions.get("k").history) == 0  # not executed: nothing recorded
    timeout, _ = one("timeout")
    assert timeout.is_error and "timed out after 0.05 s" in timeout.text
    empty, sim = one("empty")
    assert not empty.is_error and empty.text == "" and empty.structured is None
    assert sim.sessions.get("k").history[0].result["city"] == "Oslo"  # the session keeps the real answer
    malformed, _ = one("malformed")
    assert malformed.structured is None and malformed.text.startswith('{"city": "Oslo"'[:5])
    with pytest.raises(ValueError):
        json.loads(malformed.text)
    big, _ = one("oversized")
    assert len(big.text.encode()) > 300_000 and big.structured["city"] == "Oslo"


def test_latency_draws_follow_the_configured_distribution() -> None:
    def delays(spec: str, n: int = 2000) -> list[float]:
        injector = FaultInjector([FaultRule(latency=spec)], seed=3)
        return [injector.draw("s", "t", i).delay_s for i in range(n)]

    assert set(delays("fixed:150ms", 50)) == {0.15} and set(delays("0.2s", 10)) == {0.2}
    uniform = delays("uniform:100ms,300ms")
    assert min(uniform) >= 0.1 and max(uniform) <= 0.3 and abs(statistics.mean(uniform) - 0.2) < 0.01
    lognormal = delays("lognormal:200ms,0.5")
    assert abs(statistics.median(lognormal) / 0.2 - 1) < 0.08
    assert abs(statistics.mean(lognormal) / Latency.parse("lognormal:200ms,0.5").mean_s - 1) < 0.08
    normal = delays("normal:100ms,20ms")
    assert abs(statistics.mean(normal) - 0.1) < 0.003 and abs(statistics.stdev(normal) - 0.02) < 0.003
    exponential = delays("exponential:50ms")
    assert abs(statistics.mean(exponential) / 0.05 - 1) < 0.1 and min(exponential) >= 0


def test_latency_is_really_waited() -> None:
    sim = simulator(latency="60ms")

    async def main() -> float:
        async with sim:
            start = time.perf_counter()
            for i in range(5):
                result = await sim.call("get_weather", {"city": f"C{i}"}, session_key="slow")
                assert result.meta["gtm-mcp/fault"] == {"kind": None, "latency_ms": 60.0}
            return time.perf_counter() - start

    assert anyio.run(main) >= 5 * 0.06


def test_rules_file_per_tool_first_match_wins_and_presets(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("faults:\n  seed: 1\n  rules:\n    - tools: [get_weather]\n      rate: 1.0\n      kinds: [error]\n"
                     "    - tools: ['*']\n      preset: errors\n      rate: 0.0\n")
    sim = simulator(rules=str(rules), faults="chaos")  # the flags' rule comes last: never reached here
    results = run_calls(sim, 60, sessions=2)
    by_tool = Counter((CALLS[i % 3][0], fault_of(r)) for (_, i), r in results.items())
    assert by_tool == {("get_weather", "error"): 20, ("create_order", None): 20, ("web_search", None): 20}
    for name, preset in PRESETS.items():
        rule = FaultRule(preset=name)
        assert rule.rate == preset["rate"] and (rule.latency_model is not None) == ("latency" in preset)


@pytest.mark.parametrize(("flags", "message"), [
    ({"latency": "gamma:1s"}, "unknown latency distribution 'gamma'"),
    ({"latency": "uniform:300ms,100ms"}, "upper bound is below the lower one"),
    ({"fault_rate": 1.5}, "less than or equal to 1"),
    ({"fault_kinds": ["explode"]}, "error"),
])
def test_bad_fault_settings_are_refused_by_name(flags: dict, message: str) -> None:
    with pytest.raises(RoutingError, match="faults: ") as caught:
        simulator(**flags)
    assert message in str(caught.value)


def test_unknown_preset_in_a_rules_file_names_the_presets(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"faults": [{"preset": "sluggish"}]}))
    with pytest.raises(RoutingError, match=r"unknown fault preset 'sluggish'; presets: flaky, slow"):
        simulator(rules=str(rules))
