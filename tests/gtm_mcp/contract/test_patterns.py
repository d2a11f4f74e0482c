"""Schema patterns cannot stall the server: catastrophic patterns are matched in linear time (RE2)
or under a time limit (the `regex` module, for lookarounds and backreferences)."""

from __future__ import annotations

import time

import pytest

from gtm_mcp.contract import ToolDefinition, patterns

CATASTROPHIC = ["^(a+)+$", "^(a|aa)+$", "^(a|a?)+$", "^(\\w+\\s?)*$", "(x+x+)+y"]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_patterns_answer_at_once(pattern: str) -> None:
    tool = ToolDefinition(name="t", input_schema={"type": "object", "properties": {"s": {"type": "string",
                                                                                         "pattern": pattern}}})
    start = time.perf_counter()
    errors = list(tool.input_validator.iter_errors({"s": "a" * 40 + "!"}))
    assert time.perf_counter() - start < 0.2
    assert errors and errors[0].validator == "pattern"


def test_lookarounds_and_backreferences_still_work() -> None:
    assert patterns.search(r"^(?=.*\d)[a-z\d]+$", "abc1") and not patterns.search(r"^(?=.*\d)[a-z\d]+$", "abc")
    assert patterns.search(r"^(ab)\1$", "abab") and not patterns.search(r"^(ab)\1$", "abba")


def test_a_slow_fallback_match_times_out_instead_of_hanging() -> None:
    pattern = r"^(?=x)?(a|a)+(?!z)$"  # lookarounds force the backtracking engine; the body explodes
    start = time.perf_counter()
    try:
        patterns.search(pattern, "a" * 5000 + "!")
    except patterns.PatternTimeout:
        pass
    assert time.perf_counter() - start < 1.0


def test_pattern_properties_and_additional_properties_use_the_safe_engine() -> None:
    tool = ToolDefinition(name="t", input_schema={
        "type": "object", "patternProperties": {"^(a+)+$": {"type": "integer"}}, "additionalProperties": False})
    start = time.perf_counter()
    errors = [e.message for e in tool.input_validator.iter_errors({"aaaa": "x", "a" * 40 + "!": 1})]
    assert time.perf_counter() - start < 0.2
    assert any("is not of type 'integer'" in m for m in errors)
    assert any("do not match any of the regexes" in m or "does not match any of the regexes" in m for m in errors)


def test_huge_repetition_counts_are_refused_not_compiled_for_minutes() -> None:
    start = time.perf_counter()
    with pytest.raises(patterns.PatternError, match="too large"):
        patterns.search("^a{100000000}$", "aaa")
    assert time.perf_counter() - start < 0.5
    assert patterns.search("^a{3}(?=b)", "aaab")  # counts that fit still work in the fallback engine
