"""Argument checking: every problem classified like CARG's four kinds, with a message an agent can act on."""

from __future__ import annotations

import pytest

from gtm_mcp.calls.arguments import ArgumentErrorKind as Kind
from gtm_mcp.calls.arguments import check_arguments, format_problems
from gtm_mcp.contract.definition import ToolDefinition

TOOL = ToolDefinition(name="book_room", input_schema={
    "type": "object",
    "properties": {
        "hotel": {"type": "string", "description": "Hotel name"},
        "nights": {"type": "integer", "minimum": 1, "maximum": 30},
        "room": {"type": "string", "enum": ["single", "double", "suite"]},
        "email": {"type": "string", "format": "email"},
        "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "guest": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                  "required": ["name"], "additionalProperties": False},
    },
    "required": ["hotel", "nights"],
})


@pytest.mark.parametrize("arguments,kind,parameter,says", [
    ({"nights": 2}, Kind.MISSING_REQUIRED, "hotel", "Hotel name"),
    ({"hotel": "Ritz", "nights": "two"}, Kind.WRONG_TYPE, "nights", 'got string "two"'),
    ({"hotel": "Ritz", "nights": 2, "pets": True}, Kind.UNEXPECTED_PARAMETER, "pets", "accepted parameters"),
    ({"hotel": "Ritz", "nights": 0}, Kind.INVALID_VALUE, "nights", "must be >= 1"),
    ({"hotel": "Ritz", "nights": 2, "room": "twin"}, Kind.INVALID_VALUE, "room", '"single", "double", "suite"'),
    ({"hotel": "Ritz", "nights": 2, "email": "nope"}, Kind.INVALID_VALUE, "email", "valid email"),
    ({"hotel": "Ritz", "nights": 2, "code": "ab"}, Kind.INVALID_VALUE, "code", "^[A-Z]{3}$"),
    ({"hotel": "Ritz", "nights": 2, "guest": {"age": 3}}, Kind.MISSING_REQUIRED, "guest.name", "guest.name"),
    ({"hotel": "Ritz", "nights": 2, "guest": {"name": "A", "x": 1}}, Kind.UNEXPECTED_PARAMETER, "guest.x", "remove"),
    ({"hotel": "Ritz", "nights": 2, "guest": {"name": 5}}, Kind.WRONG_TYPE, "guest.name", "type string"),
])
def test_each_kind_names_the_parameter(arguments, kind, parameter, says) -> None:
    problems = check_arguments(TOOL, arguments)
    assert [(p.kind, p.parameter) for p in problems] == [(kind, parameter)]
    text = format_problems(TOOL, problems)
    assert parameter in text and says in text and f"[{kind.value}]" in text
    assert "Expected arguments: {hotel: string, nights: integer" in text


def test_valid_call_has_no_problems_and_several_are_all_reported() -> None:
    assert check_arguments(TOOL, {"hotel": "Ritz", "nights": 2, "room": "suite", "guest": {"name": "A"}}) == []
    problems = check_arguments(TOOL, {"nights": "x", "zz": 1})
    assert {p.kind for p in problems} == {Kind.MISSING_REQUIRED, Kind.WRONG_TYPE, Kind.UNEXPECTED_PARAMETER}


def test_extra_parameters_can_be_allowed_and_open_schemas_accept_them() -> None:
    assert check_arguments(TOOL, {"hotel": "R", "nights": 1, "pets": 1}, allow_extra=True) == []
    open_tool = ToolDefinition(name="anything", input_schema={"type": "object"})
    assert check_arguments(open_tool, {"whatever": 1}) == []


def test_draft07_schema_and_non_object_arguments() -> None:
    tool = ToolDefinition(name="t", input_schema={"$schema": "http://json-schema.org/draft-07/schema#",
                                                  "type": "object", "properties": {"n": {"type": "number",
                                                                                         "exclusiveMaximum": 5}}})
    assert [p.kind for p in check_arguments(tool, {"n": 5})] == [Kind.INVALID_VALUE]
    assert [p.kind for p in check_arguments(tool, [1, 2])] == [Kind.WRONG_TYPE]
