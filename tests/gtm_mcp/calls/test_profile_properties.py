"""The three profiles on hypothesis-generated schemas and arguments.

- pydantic: a Python function with generated parameter types becomes a real `MCPServer` tool; the
  profile, given only the JSON Schema that tool publishes, accepts and refuses exactly what the SDK's
  own validation does, with the same text and the same received values. On generated JSON Schemas,
  it never refuses what pydantic's validation of the built model accepts, and vice versa.
- zod: on generated schemas, the port agrees with real zod 4 run by node (tests/servers/
  zod_oracle.mjs: verdict, the SDK's issue text, the parsed data), and never coerces.
- strict: refuses exactly what the JSON Schema validator refuses plus undeclared parameters.

`GTM_PROFILE_EXAMPLES=1500` runs ten times as many examples (they passed at 1500 and 3000).
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
from enum import Enum
from typing import Annotated, Any, Literal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError
from servers.profile_calls import NODE_MODULES, SERVERS

from gtm_mcp.calls.checking import check_call
from gtm_mcp.calls.profiles import pydantic_lax
from gtm_mcp.calls.profiles.zod import FORMATS as zod_formats
from gtm_mcp.calls.profiles.zod import GUID, as_javascript_json
from gtm_mcp.contract.definition import ToolDefinition

EXAMPLES = int(os.environ.get("GTM_PROFILE_EXAMPLES", "150"))  # more for a long local run
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- values an agent sends: right, wrong and borderline ------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 60), st.integers(-3, 10).map(float),
    st.floats(-10, 100, allow_nan=False, width=32),
    st.sampled_from(["2", "3.5", "-1", "true", "True", "yes", "off", "0", "1", "a", "abc", "", "null", '["a", "b"]',
                     '{"name": "x"}', "[1, 2]", "x@y.co", "2024-02-29", "2024-01-01T10:00:00Z", "aisle", "red",
                     "550e8400-e29b-41d4-a716-446655440000", "10.0.0.1"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["name", "age", "x", "tags", "a"]), inner, max_size=3)), max_leaves=6)


def plausible(schema: Any, root: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values close to what `schema` asks for (so that many calls are accepted), or anything."""
    if not isinstance(schema, dict):
        return VALUES
    if isinstance(schema.get("$ref"), str):
        schema = (root.get("$defs") or {}).get(schema["$ref"].rsplit("/", 1)[-1], {})
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return st.one_of([plausible(s, root) for s in schema[key]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if kind == "integer":
        return st.integers(0, 12) | st.integers(0, 12).map(str)
    if kind == "number":
        return st.integers(0, 12) | st.sampled_from([0.5, "2.5", 3.0])
    if kind == "boolean":
        return st.booleans() | st.sampled_from(["true", "False", 1])
    if kind == "string":
        return st.sampled_from(["ab", "abc", "x@y.co", "2024-02-29", "550e8400-e29b-41d4-a716-446655440000"])
    if kind == "array":
        return st.lists(plausible(schema.get("items"), root), max_size=2)
    if kind == "object":
        props = schema.get("properties") or {}
        return st.fixed_dictionaries({k: plausible(v, root) for k, v in props.items()}) if props else st.dictionaries(
            st.sampled_from(["a", "b"]), st.integers(0, 3), max_size=2)
    return VALUES


def arguments_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments for a tool: each parameter left out, close to its schema, or anything; maybe an extra key."""
    names = list(schema["properties"])
    per_key = {n: st.one_of(plausible(schema["properties"][n], schema), plausible(schema["properties"][n], schema),
                            VALUES) for n in names}
    return st.fixed_dictionaries({}, optional={**per_key, "extra": VALUES})


# -- pydantic: generated signatures, checked by the real SDK -------------------------------------

class Guest(BaseModel):
    name: str
    age: int = 0


class Color(Enum):
    red = "red"
    blue = "blue"


PY_TYPES: list[Any] = [
    int, float, bool, str, Literal["aisle", "window"], list[int], list[str], int | None, str | None,
    Annotated[int, Field(ge=0, le=10)], Annotated[str, Field(min_length=2, max_length=5)], dict[str, int],
    Guest, Guest | None, list[Guest], Color, set[int], tuple[int, str], float | None, bool | None, Any,
]
NAMES = ["count", "flag", "json", "label", "items", "guest", "copy", "mode"]  # json/copy shadow BaseModel


@st.composite
def signatures(draw: st.DrawFn) -> list[tuple[str, Any, Any]]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    out = []
    for name in names:
        annotation = draw(st.sampled_from(PY_TYPES))
        default = draw(st.sampled_from([inspect.Parameter.empty, None]))
        out.append((name, annotation, default))
    return out


def mcpserver_tool(params: list[tuple[str, Any, Any]]) -> Any:
    from mcp.server.mcpserver.tools.base import Tool

    def fn(**kwargs: Any) -> str:
        return ""

    fn.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d)
                                          for n, a, d in params])  # type: ignore[attr-defined]
    fn.__name__ = "generated"
    return Tool.from_function(fn, name="generated", structured_output=False)


@SETTINGS
@given(data=st.data(), params=signatures())
def test_pydantic_profile_matches_the_sdks_own_validation(data: st.DataObject, params: list) -> None:
    real = mcpserver_tool(params)
    tool = ToolDefinition(name="generated", input_schema=real.parameters, check_profile="pydantic")
    arguments = data.draw(arguments_for(real.parameters))
    check = check_call(tool, arguments)
    try:
        received = real.fn_metadata.validate_arguments(arguments)
    except ValidationError as e:
        event("refused")
        assert check.problems == f"Error executing tool generated: {e}"
        return
    event("accepted")
    assert check.problems is None, check.problems
    real_json = {k: pydantic_lax.dump(v) for k, v in received.items()}
    assert set(check.arguments) <= set(real_json)
    assert check.arguments == {k: real_json[k] for k in check.arguments}


# -- generated JSON Schemas ------------------------------------------------------------------------

def _string() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"type": st.just("string")}, optional={
        "minLength": st.integers(0, 3), "maxLength": st.integers(2, 6),
        "pattern": st.sampled_from(["^[a-z]+$", "a", "^\\d+$"]),
        "format": st.sampled_from(["email", "uuid", "date", "date-time"])})


def _number(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"type": st.just(kind)}, optional={
        "minimum": st.integers(-3, 3), "maximum": st.integers(5, 50), "exclusiveMaximum": st.integers(40, 60),
        "multipleOf": st.sampled_from([2, 3] if kind == "integer" else [0.5, 2])})


SCALAR_SCHEMAS = st.one_of(
    _string(), _number("integer"), _number("number"), st.just({"type": "boolean"}),
    st.builds(lambda v: {"type": "string", "enum": v}, st.lists(st.sampled_from(["aisle", "window", "red", "a"]),
                                                                  min_size=1, max_size=3, unique=True)),
    st.just({"enum": [1, "a", True, None]}), st.just({"const": "fixed"}),
    # as the TypeScript SDK publishes z.email() and z.guid(): the format with its own pattern
    st.just({"type": "string", "format": "email", "pattern": zod_formats["email"][1]}),
    st.just({"type": "string", "format": "uuid", "pattern": GUID}),
)


def _object(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        names = draw(st.lists(st.sampled_from(["name", "age", "tags", "a"]), min_size=1, max_size=3, unique=True))
        schema: dict[str, Any] = {"type": "object", "properties": {n: draw(inner) for n in names},
                                  "required": draw(st.lists(st.sampled_from(names), unique=True))}
        if draw(st.booleans()):
            schema["additionalProperties"] = False
        return schema
    return build()


PROPERTY_SCHEMAS = st.recursive(SCALAR_SCHEMAS, lambda inner: st.one_of(
    st.builds(lambda items, low, high: {"type": "array", "items": items, **low, **high}, inner,
              st.sampled_from([{}, {"minItems": 1}]), st.sampled_from([{}, {"maxItems": 2}])),
    _object(inner),
    st.builds(lambda s: {"anyOf": [s, {"type": "null"}]}, inner),
    st.builds(lambda s: {**s, "type": [s["type"], "null"]}, _number("integer") | _string()),
    st.builds(lambda a, b: {"anyOf": [a, b]}, SCALAR_SCHEMAS, SCALAR_SCHEMAS),
), max_leaves=4)


@st.composite
def tool_schemas(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(["count", "flag", "label", "items", "guest"]), min_size=1, max_size=4,
                          unique=True))
    properties = {}
    for name in names:
        schema = draw(PROPERTY_SCHEMAS)
        if draw(st.integers(0, 4)) == 0 and schema.get("type") == "boolean":
            schema = {**schema, "default": False}
        properties[name] = schema
    schema = {"type": "object", "properties": properties, "required": draw(st.lists(st.sampled_from(names),
                                                                                     unique=True))}
    if draw(st.integers(0, 3)) == 0:
        schema["additionalProperties"] = False
    return schema


@SETTINGS
@given(data=st.data(), schema=tool_schemas())
def test_pydantic_profile_accepts_exactly_what_its_model_accepts(data: st.DataObject, schema: dict) -> None:
    tool = ToolDefinition(name="t", input_schema=schema, check_profile="pydantic")
    arguments = data.draw(arguments_for(schema))
    model = pydantic_lax.arguments_model(tool)
    try:
        model.model_validate(pydantic_lax.pre_parse(tool, arguments))
        accepted = True
    except ValidationError:
        accepted = False
    assert (check_call(tool, arguments).problems is None) == accepted


@SETTINGS
@given(data=st.data(), schema=tool_schemas())
def test_strict_is_the_json_schema_validator_plus_undeclared_parameters(data: st.DataObject, schema: dict) -> None:
    tool = ToolDefinition(name="t", input_schema=schema)
    arguments = data.draw(arguments_for(schema))
    schema_errors = any(True for _ in tool.input_validator.iter_errors(arguments))
    undeclared = any(key not in schema["properties"] for key in arguments)
    check = check_call(tool, arguments, default_profile="strict")
    assert (check.problems is not None) == (schema_errors or undeclared)
    if check.problems is None:
        assert check.arguments == arguments


# -- zod: the port against real zod ---------------------------------------------------------------

@pytest.fixture(scope="module")
def zod_oracle():
    if not (NODE_MODULES / "zod").exists():
        pytest.fail(f"{NODE_MODULES}/zod is missing: run `bash scripts/setup_mcp_servers.sh` (make test does)")
    proc = subprocess.Popen(["node", str(SERVERS / "zod_oracle.mjs")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "GTM_TEST_NODE_MODULES": str(NODE_MODULES)})

    def ask(schema: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"schema": schema, "args": arguments}) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    yield ask
    proc.terminate()
    proc.wait(timeout=10)


def _kept(schema: Any, value: Any) -> Any:
    """`value` as zod returns it when nothing is coerced: undeclared keys of stripping objects gone."""
    if not isinstance(schema, dict):
        return value
    options = schema.get("anyOf")
    if isinstance(options, list) and value is not None:
        schema = next((o for o in options if o != {"type": "null"}), schema)
    if isinstance(value, dict) and schema.get("type") == "object":
        props = schema.get("properties") or {}
        return {k: _kept(props.get(k), v) for k, v in value.items() if k in props}
    if isinstance(value, list) and schema.get("type") == "array":
        return [_kept(schema.get("items"), v) for v in value]
    return value


@settings(max_examples=2 * EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), schema=tool_schemas())
def test_zod_port_agrees_with_real_zod_and_never_coerces(zod_oracle, data: st.DataObject, schema: dict) -> None:
    tool = ToolDefinition(name="t", input_schema=schema, check_profile="zod")
    arguments = data.draw(arguments_for(schema))
    check = check_call(tool, arguments)
    real = zod_oracle(schema, arguments)
    assert "crash" not in real, real
    event("accepted" if real["ok"] else "refused")
    if real["ok"]:
        assert check.problems is None, check.problems
        assert check.arguments == real["data"]
        given_back = {k: v for k, v in check.arguments.items() if k in arguments}
        expected = as_javascript_json(_kept(schema, arguments))  # JSON numbers are doubles: 2.0 is 2
        assert json.dumps(given_back, sort_keys=True) == json.dumps(expected, sort_keys=True)
    else:
        prefix = "MCP error -32602: Input validation error: Invalid arguments for tool t: "
        assert check.problems == prefix + real["text"]
