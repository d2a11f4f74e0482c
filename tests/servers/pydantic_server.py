"""A real Python MCP server on the official SDK's high-level `MCPServer` (mcp 2.3.0), over stdio.

Its tools declare integers, booleans, enums, arrays, nested objects and optional parameters the way
Python authors write them (type hints, pydantic models), so the SDK builds the arguments models and
checks calls with pydantic. Every tool answers with the JSON of the arguments it received, so a test
sees exactly what the real tool saw (coerced values, dropped keys).

    python tests/servers/pydantic_server.py
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

server = MCPServer("profiles-python")


class Guest(BaseModel):
    name: str
    age: int


class Sort(Enum):
    relevance = "relevance"
    newest = "newest"


class Filters(BaseModel):
    categories: list[str] = []
    min_price: float | None = None
    in_stock: bool = True


def _received(**arguments: Any) -> str:
    return json.dumps({k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v.value if isinstance(v, Enum)
                       else v for k, v in arguments.items()}, sort_keys=True)


@server.tool(structured_output=False)
def book(count: int, vip: bool = False, seat: Literal["aisle", "window"] = "aisle", tags: list[str] | None = None,
         guest: Guest | None = None, note: str | None = None) -> str:
    """Book seats for a show."""
    return _received(count=count, vip=vip, seat=seat, tags=tags, guest=guest, note=note)


@server.tool(structured_output=False, annotations=ToolAnnotations(read_only_hint=True))
def search(query: str, limit: Annotated[int, Field(ge=1, le=50)] = 10, sort: Sort = Sort.relevance,
           filters: Filters | None = None, ids: list[int] | None = None) -> str:
    """Search the catalogue."""
    return _received(query=query, limit=limit, sort=sort, filters=filters, ids=ids)


@server.tool(structured_output=False)
def set_flags(dark_mode: bool, volume: float, retries: int = 3, labels: dict[str, int] | None = None) -> str:
    """Change settings."""
    return _received(dark_mode=dark_mode, volume=volume, retries=retries, labels=labels)


if __name__ == "__main__":
    server.run("stdio")
