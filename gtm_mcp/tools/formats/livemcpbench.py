"""LiveMCPBench's server list: `[{name, category, tools: {key: {tools: [MCP tool, ...]}}}]`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gtm_mcp.tools.formats import Entry
from gtm_mcp.tools.formats.mcp import entry_of

NAME = "livemcpbench"


def detect(doc: Any) -> bool:
    return (isinstance(doc, list) and bool(doc) and isinstance(doc[0], dict)
            and isinstance(doc[0].get("tools"), dict) and "category" in doc[0])


def entries(doc: Any) -> Iterator[Entry]:
    for i, server in enumerate(doc):
        if not isinstance(server, dict) or not isinstance(server.get("tools"), dict):
            yield Entry(f"/{i}", problem="expected a server object with a \"tools\" object")
            continue
        category = server.get("category")
        for key, block in server["tools"].items():
            tools = block.get("tools") if isinstance(block, dict) else None
            if not isinstance(tools, list):
                yield Entry(f"/{i}/tools/{key}", problem="expected {\"tools\": [...]} (an MCP tools/list answer)")
                continue
            for j, tool in enumerate(tools):
                entry = entry_of(tool, f"/{i}/tools/{key}/tools/{j}", server=str(key))
                if category and entry.problem is None:
                    entry.fields["domains"] = (str(category),)
                yield entry
