"""The agent under test: checks the weather for a city and saves a packing note.

A plain MCP client with the error handling a production agent needs: an isError result, an
output that is empty or not JSON, or a client-side failure is retried (a few times, briefly),
then reported as `ToolFailed`. The tests in `tests/` run it against simulated, real, replayed
and deliberately broken tools.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anyio
from mcp import Client


class ToolFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class TripPlan:
    city: str
    temperature: float
    pack: str
    note_id: str
    retries: int


async def call(client: Client, tool: str, arguments: dict[str, Any], *, attempts: int = 4) -> tuple[dict, int]:
    """The tool's JSON answer and how many retries it took."""
    problem = ""
    for attempt in range(attempts):
        try:
            result = await client.call_tool(tool, arguments)
        except RuntimeError as e:  # the SDK refuses output that breaks the tool's output schema
            problem = str(e)
        else:
            if result.is_error:
                problem = result.content[0].text if result.content else "isError"
            elif result.structured_content is not None:
                return dict(result.structured_content), attempt
            else:
                text = result.content[0].text if result.content else ""
                try:
                    return json.loads(text), attempt
                except ValueError:
                    problem = f"not JSON: {text[:60]!r}"
        await anyio.sleep(0.05 * (attempt + 1))
    raise ToolFailed(f"{tool} failed {attempts} times; last problem: {problem}")


async def plan_trip(url: str, city: str) -> TripPlan:
    try:
        async with Client(url) as client:
            weather, r1 = await call(client, "get_weather", {"city": city})
            cold = float(weather["temperature"]) < 12
            pack = "a warm coat" if cold else "sunglasses"
            body = f"{weather['conditions']}, {weather['temperature']}°: pack {pack}."
            note, r2 = await call(client, "add_note", {"title": f"Trip to {city}", "body": body, "tags": ["trip"]})
            return TripPlan(city, float(weather["temperature"]), pack, note["id"], r1 + r2)
    except ExceptionGroup as group:  # the client's task group wraps what its body raised
        failed = group.subgroup(ToolFailed)
        while isinstance(failed, ExceptionGroup):
            failed = failed.exceptions[0]
        if failed is not None:
            raise failed from None
        raise
