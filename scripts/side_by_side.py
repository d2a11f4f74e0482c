"""Print a real MCP server's resources and prompts beside the simulator's mirror of it.

    .venv/bin/python scripts/side_by_side.py            # mcp-server-sqlite and server-everything

Each server is started over stdio (scripts/setup_mcp_servers.sh installs them), mirrored in process
(`gtm-mcp serve --mirror` builds the same), and both are asked the same things through the official
client: the lists, reads of each resource, prompts/get with a few arguments, completions, and one
tool call that writes a resource.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import anyio

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
warnings.filterwarnings("ignore")

from mcp import Client, StdioServerParameters  # noqa: E402
from real_servers import everything_server, sqlite_server  # noqa: E402

from gtm_mcp.config import load_settings  # noqa: E402
from gtm_mcp.server.mcp_server import build_server  # noqa: E402
from gtm_mcp.server.runtime import build_runtime  # noqa: E402


def short(value: Any, width: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", "⏎").replace("|", "/")
    return text if len(text) <= width else text[: width - 1] + "…"


def row(what: str, real: Any, mirror: Any) -> None:
    same = "same" if real == mirror else "differs"
    print(f"| {what} | {short(real)} | {short(mirror)} | {same} |")


async def compare(name: str, real: Any, mirror: Any, asks: list[tuple[str, Any]]) -> None:
    print(f"\n### {name}\n\n| asked | real server | simulator's mirror | |\n|---|---|---|---|")
    async with Client(StdioServerParameters(command=real.argv[0], args=real.argv[1:]), mode="legacy") as a, \
            Client(mirror, mode="legacy") as b:
        for what, ask in asks:
            answers = []
            for client in (a, b):
                try:
                    answers.append(await ask(client))
                except Exception as e:  # shown in the table: a refusal is an answer too
                    answers.append(f"error: {e}")
            row(what, *answers)


def dump(items: list[Any]) -> list[dict[str, Any]]:
    return [i.model_dump(by_alias=True, exclude_none=True, exclude={"meta"}) for i in items]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = sqlite_server(Path(tmp))
        everything = everything_server()
        mirrors = {}
        for real in (sqlite, everything):
            simulator, surface = build_runtime(load_settings({"mirror": [real.spec]}, env={}))
            mirrors[real.name] = build_server(simulator, surface=surface)
        insight = "Weekend orders are twice weekday orders."

        async def run() -> None:
            await compare("mcp-server-sqlite", sqlite, mirrors["sqlite"], [
                ("resources/list", lambda c: _list(c, "resources")),
                ("resources/read memo://insights", lambda c: _read(c, "memo://insights")),
                ("prompts/list", lambda c: _list(c, "prompts")),
                ("prompts/get mcp-demo topic=retail", lambda c: _prompt(c, "mcp-demo", {"topic": "retail"})),
                ("prompts/get mcp-demo (no topic)", lambda c: _prompt(c, "mcp-demo", {})),
                ("tools/call append_insight, then read memo", lambda c: _write_then_read(c, insight)),
            ])
            asks = [("resources/list", lambda c: _list(c, "resources")),
                    ("resources/templates/list", lambda c: _list(c, "templates"))]
            asks += [(f"resources/read {uri}", lambda c, uri=uri: _read(c, uri)) for uri in (
                "demo://resource/static/document/features.md", "demo://resource/dynamic/text/3",
                "demo://resource/dynamic/blob/3")]
            asks += [("prompts/list", lambda c: _list(c, "prompts"))]
            asks += [(f"prompts/get {n} {a}", lambda c, n=n, a=a: _prompt(c, n, a)) for n, a in (
                ("simple-prompt", {}), ("args-prompt", {"city": "Paris"}),
                ("args-prompt", {"city": "Paris", "state": "TX"}),
                ("completable-prompt", {"department": "Sales", "name": "Eve"}),
                ("resource-prompt", {"resourceType": "Text", "resourceId": "7"}))]
            asks += [("completion/complete completable-prompt department 'S'",
                      lambda c: _complete(c, {"type": "ref/prompt", "name": "completable-prompt"}, "department", "S"))]
            await compare("server-everything", everything, mirrors["everything"], asks)

        anyio.run(run)


async def _list(client: Client, what: str) -> Any:
    if what == "resources":
        return dump((await client.list_resources()).resources)
    if what == "templates":
        return dump((await client.list_resource_templates()).resource_templates)
    return dump((await client.list_prompts()).prompts)


async def _read(client: Client, uri: str) -> Any:
    return dump((await client.read_resource(uri)).contents)


async def _prompt(client: Client, name: str, arguments: dict[str, str]) -> Any:
    return dump((await client.get_prompt(name, arguments)).messages)


async def _complete(client: Client, ref: dict[str, str], name: str, value: str) -> Any:
    return (await client.complete(ref, {"name": name, "value": value})).completion.values


async def _write_then_read(client: Client, insight: str) -> Any:
    await client.call_tool("append_insight", {"insight": insight})
    text = (await client.read_resource("memo://insights")).contents[0].text
    return f"contains the insight: {insight in text}; {text}"


if __name__ == "__main__":
    main()
