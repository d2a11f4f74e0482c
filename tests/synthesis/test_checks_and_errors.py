"""Deterministic parts on real tool data: tool checks, the four bad-argument generators (each error
confirmed independently by the server's own argument check), argument sampling, value flow,
seeding and splitting."""

from __future__ import annotations

import random
from collections import Counter

from synth_data import real_mix, seal_sample

from gtm_mcp.calls.arguments import ArgumentErrorKind, check_arguments
from gtm_mcp.contract import ToolDefinition
from synthesis.errorgen import KINDS, bad_call
from synthesis.flow import flowed_values
from synthesis.seeding import derive, rng_for
from synthesis.splits import tool_split
from synthesis.toolcheck import tool_from_fields, tool_problems
from synthesis.values import sample_arguments

SERVER_KIND = {"wrong_type": ArgumentErrorKind.WRONG_TYPE, "missing_required": ArgumentErrorKind.MISSING_REQUIRED,
               "unexpected_parameter": ArgumentErrorKind.UNEXPECTED_PARAMETER,
               "invalid_value": ArgumentErrorKind.INVALID_VALUE}


def test_real_tools_pass_the_tool_check_and_broken_ones_do_not() -> None:
    seal_tools = seal_sample()
    assert sum(not tool_problems(t) for t in seal_tools) >= 0.95 * len(seal_tools)
    good = seal_tools[0].to_gtm()
    tool, problems = tool_from_fields(good)
    assert tool is not None and not problems
    undeclared = {**good, "input_schema": {**good["input_schema"], "required": ["not_declared"]}}
    tool, problems = tool_from_fields(undeclared)
    assert tool is None and "not_declared" in problems[0][1]
    bad_schema = {**good, "input_schema": {"type": "object", "properties": {"x": {"type": "strng"}}}}
    assert tool_from_fields(bad_schema)[0] is None
    assert tool_from_fields({**good, "description": ""})[0] is None
    assert tool_from_fields(["not", "an", "object"])[0] is None


def test_every_generated_bad_call_is_refused_by_the_server_check() -> None:
    rng = random.Random(5)
    sample = rng.sample(real_mix(), 400)
    made: Counter = Counter()
    for i, tool in enumerate(sample):
        valid = sample_arguments(tool, rng_for(1, "t", i))
        if valid is None:
            continue
        assert check_arguments(tool, valid) == [], (tool.name, valid)  # the base really is valid
        for kind in KINDS:
            bad = bad_call(kind, tool, valid, rng_for(1, tool.name, kind))
            if bad is None:
                continue
            made[kind] += 1
            problems = check_arguments(tool, bad.arguments)  # the server's own check, called directly
            assert any(p.kind == SERVER_KIND[kind] for p in problems), (tool.name, kind, bad.arguments)
            if kind == "missing_required":
                assert bad.parameter not in bad.arguments
            if kind == "unexpected_parameter":
                assert bad.parameter not in (tool.input_schema.get("properties") or {})
    assert made["wrong_type"] > 250 and made["missing_required"] > 200 and made["unexpected_parameter"] > 300
    # only tools with enums, formats, ranges, lengths or patterns admit one: those always get one
    constrained = [t for t in real_mix() if any(isinstance(p, dict) and p.get("enum") for p in
                                                 (t.input_schema.get("properties") or {}).values())]
    assert len(constrained) > 20
    for i, tool in enumerate(constrained[:60]):
        valid = sample_arguments(tool, rng_for(2, "c", i))
        bad = bad_call("invalid_value", tool, valid, rng_for(2, tool.name)) if valid is not None else None
        assert bad is not None, tool.name
        assert any(p.kind == ArgumentErrorKind.INVALID_VALUE for p in check_arguments(tool, bad.arguments))


def test_generators_are_deterministic_and_skip_tools_that_admit_no_such_error() -> None:
    tool = ToolDefinition(name="ping", description="Ping a host.", input_schema={
        "type": "object", "properties": {"host": {"type": "string"}}})
    valid = {"host": "example.com"}
    assert bad_call("missing_required", tool, valid, random.Random(0)) is None  # nothing is required
    assert bad_call("invalid_value", tool, valid, random.Random(0)) is None  # nothing is constrained
    one = bad_call("wrong_type", tool, valid, random.Random(3))
    two = bad_call("wrong_type", tool, valid, random.Random(3))
    assert one == two and one is not None


def test_sampled_arguments_are_valid_for_most_real_tools() -> None:
    rng = random.Random(2)
    sample = rng.sample(real_mix(), 300)
    made = [sample_arguments(t, random.Random(i)) for i, t in enumerate(sample)]
    assert sum(a is not None for a in made) >= 0.9 * len(sample)
    assert all(check_arguments(t, a) == [] for t, a in zip(sample, made, strict=True) if a is not None)


def test_values_that_flow_from_earlier_outputs_are_found() -> None:
    calls = [{"tool": "create_order", "arguments": {"item": "lamp"}, "output": {"order_id": "ord_91f2", "total": 42.5}},
             {"tool": "get_order", "arguments": {"order_id": "ord_91f2"}, "output": "Order ord_91f2: shipped"},
             {"tool": "track", "arguments": {"carrier": "ups", "order": "ord_91f2"}, "output": "in transit"}]
    assert [(i, k) for i, k, _ in flowed_values(calls)] == [(1, "order_id"), (2, "order")]
    calls[1]["arguments"] = {"order_id": "ord_other"}
    calls[2]["arguments"] = {"carrier": "ups"}
    assert flowed_values(calls) == []


def test_seeds_and_splits_are_stable() -> None:
    seal_tools = seal_sample()
    assert derive(7, "single", "x", 0) == derive(7, "single", "x", 0) != derive(8, "single", "x", 0)
    assert rng_for(1, "a").random() == rng_for(1, "a").random()
    splits = Counter(tool_split(t.name, 7) for t in seal_tools)
    assert abs(splits["train"] / len(seal_tools) - 0.7) < 0.04  # the default shares: 0.7 / 0.1 / 0.2
    assert abs(splits["test"] / len(seal_tools) - 0.2) < 0.03
    assert [tool_split(t.name, 7) for t in seal_tools[:50]] == [tool_split(t.name, 7) for t in seal_tools[:50]]
    assert tool_split("x", 1, {"train": 1.0, "validation": 0.0, "test": 0.0}) == "train"


def test_an_error_exists_only_if_the_tools_own_checker_refuses_it() -> None:
    """A Python (pydantic) tool coerces "2" to 2 and ignores undeclared parameters; a TypeScript (zod)
    tool strips them: the generators then make no such "error", or one the real checker refuses."""
    from gtm_mcp.calls.checking import check_call

    tool = ToolDefinition(name="book", description="Book seats.", input_schema={
        "type": "object", "properties": {"count": {"type": "integer"}, "name": {"type": "string"}},
        "required": ["count"]})
    valid = {"count": 2, "name": "Ann"}
    for profile in ("pydantic", "zod"):
        profiled = tool.model_copy(update={"check_profile": profile})
        assert bad_call("unexpected_parameter", profiled, valid, random.Random(0)) is None
        for seed in range(5):
            bad = bad_call("wrong_type", profiled, valid, random.Random(seed))
            assert bad is not None and not check_call(profiled, bad.arguments).accepted, (profile, bad)
    assert bad_call("unexpected_parameter", tool, valid, random.Random(0)) is not None  # strict refuses extras


def test_placeholders_are_not_concrete_values() -> None:
    from synthesis.checks import placeholder_problem

    weather = {"temp_c": 3.5, "sky": "clear"}
    assert placeholder_problem({"city": "Oslo"}, weather, "A user in Oslo checks the weather.") is None
    assert placeholder_problem({"city": "Oslo"}, {"temp_c": 3.5}, ", {") == "the context says nothing (', {')"
    assert "argument 'city'" in placeholder_problem({"city": ""}, {"temp_c": 1}, "A user checks the weather now.")
    assert "output field 'sky'" in placeholder_problem({"city": "Oslo"}, {"sky": "<condition>"}, None)
    assert placeholder_problem({"q": "x"}, "N/A", None) == "the output is a placeholder ('N/A')"
    assert placeholder_problem({"city": "Oslo"}, {"temp_c": 3.5, "sky": "clear"}, None) is None
