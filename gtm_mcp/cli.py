"""`gtm-mcp`: serve simulated tools over MCP, lint tool files, make one-shot calls, manage tools."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

EXAMPLES = """\
examples:
  gtm-mcp serve                                   # stdio, bundled example tools, schema backend
  gtm-mcp serve --tools ../shared/data/livemcpbench/tools.json --transport http --port 8765
  gtm-mcp serve --tools tools/ --watch tools/ --seed 7          # add/remove tool files while it runs
  gtm-mcp serve --backend openai --base-url http://127.0.0.1:8000/v1 --model my-gtm
  gtm-mcp check tools/ more_tools.jsonl           # lint tool files; exit 1 on any problem
  gtm-mcp mirror "npx -y @modelcontextprotocol/server-filesystem /tmp" -o fs_tools.json  # copy a real server's tools
  gtm-mcp serve --mirror http://127.0.0.1:9000/mcp  # simulate a live server's tools
  gtm-mcp serve --mirror "uvx mcp-server-time" --real get_current_time --warmup 2  # hybrid: real after 2 calls
  gtm-mcp serve --record run.jsonl                # record every call; later: gtm-mcp serve --replay run.jsonl
  gtm-mcp serve --faults flaky --fault-seed 3     # inject errors, timeouts and latency (reproducibly)
  gtm-mcp call get_weather '{"city": "Lisbon"}'   # one simulated call, printed as JSON
  gtm-mcp tools add new_tools.json --url http://127.0.0.1:8765   # register on a running server
  gtm-mcp export --format verl tools.json -o verl_tools.json      # a tool list veRL's MCP tool accepts

Settings also come from GTM_MCP_* environment variables (GTM_MCP_PORT=9000, GTM_MCP_TOOLS=a.json,b.json)
and from a YAML/JSON/TOML file given with --config or GTM_MCP_CONFIG. Flags win over env, env over file.
"""


def _add_settings(p: argparse.ArgumentParser, command: str) -> None:
    """Every setting of the table that `command` offers, as a flag (see gtm_mcp.config)."""
    from gtm_mcp.config import settings_table

    for row in settings_table():
        if command not in row.commands:
            continue
        kw: dict[str, Any] = {"dest": row.field, "help": row.help, "default": None}
        if row.kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        elif row.kind == "list":
            # serve: --tools a.json b.json; call: one value per flag, so that TOOL is not swallowed
            kw.update(action="extend", nargs="+" if command == "serve" else 1, metavar=row.metavar or "VALUE")
        else:
            kw["type"] = {"int": int, "float": float}.get(row.kind, str)
            if row.choices:
                kw["choices"] = list(row.choices)
            elif row.metavar:
                kw["metavar"] = row.metavar
        p.add_argument(row.flag, **kw)
    p.add_argument("--config", help="settings file (YAML, JSON or TOML)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gtm-mcp", description="Simulate any tool over MCP with a Generalist "
                                     "Tool Model (or the model-free schema backend).", epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from gtm_mcp import __version__

    parser.add_argument("--version", action="version", version=f"gtm-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    from gtm_mcp.config import describe_table

    serve = sub.add_parser("serve", help="run the MCP server", epilog=EXAMPLES + "\n" + describe_table("serve"),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_settings(serve, "serve")

    check = sub.add_parser("check", help="lint tool definition files; exit 1 on any problem")
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.add_argument("--format")
    check.add_argument("--namespace", choices=["auto", "always", "never"], default="auto")
    check.add_argument("--quiet", "-q", action="store_true", help="print problems only")

    mirror = sub.add_parser("mirror", help="save a live MCP server's tools (with their argument-checking profile "
                            "in each tool's _meta), resources, resource templates and prompts as a file")
    mirror.add_argument("target", help="http(s) URL of the server, or the command that starts it over stdio")
    mirror.add_argument("--out", "-o", help="file to write (default: stdout)")
    mirror.add_argument("--probe", action="store_true", help="call read-only tools that need no arguments once, "
                        "to record the content they return (images, audio, embedded resources)")

    call = sub.add_parser("call", help="one simulated call, printed as JSON (exit 1 on an isError result)",
                          epilog="list settings take one value per flag here: --tools a.json --tools b.json")
    call.add_argument("tool")
    call.add_argument("arguments", nargs="?", default="{}", help="arguments as a JSON object")
    _add_settings(call, "call")
    call.add_argument("--hidden-context", help="text the simulated tool may use but the agent never sees")

    export = sub.add_parser("export", help="write tool files in the form a framework needs (verl: a tool list "
                            "veRL's MCP tool class accepts, to serve with `serve --tools`)")
    export.add_argument("paths", nargs="+", metavar="PATH")
    export.add_argument("--format", dest="target", choices=["verl"], default="verl", help="the target form")
    export.add_argument("--input-format", help="force the format of the input files (default: detected)")
    export.add_argument("--out", "-o", help="file to write (default: stdout)")

    tools = sub.add_parser("tools", help="list, add or remove tools on a running HTTP server")
    tools.add_argument("action", choices=["list", "add", "remove"])
    tools.add_argument("items", nargs="*", help="files to add, or tool names to remove")
    tools.add_argument("--url", default=os.environ.get("GTM_MCP_URL", "http://127.0.0.1:8765"))
    tools.add_argument("--admin-token", default=os.environ.get("GTM_MCP_ADMIN_TOKEN"),
                       help="Bearer token of the admin routes (prefer GTM_MCP_ADMIN_TOKEN or --admin-token-file)")
    tools.add_argument("--admin-token-file", metavar="FILE", help="read the admin token from this file")
    tools.add_argument("--check-profile", choices=["strict", "pydantic", "zod"],
                       help="add: check the added tools' arguments like this (default: as each tool says, else "
                       "the server's --check-profile)")
    return parser


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items() if k not in ("command",)}


def cmd_serve(args: argparse.Namespace) -> int:
    import anyio

    from gtm_mcp.calls.routing import RoutingError
    from gtm_mcp.config import ConfigError, load_settings
    from gtm_mcp.contract.errors import ToolLoadError
    from gtm_mcp.server.runtime import build_runtime, serve, setup_logging

    try:
        settings = load_settings(_flags(args))
    except ConfigError as e:
        print(f"gtm-mcp: {e}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    try:
        simulator, surface = build_runtime(settings)
    except ToolLoadError as e:
        print(f"gtm-mcp: refusing to start, {e}\n(use --skip-invalid to serve the valid tools anyway)",
              file=sys.stderr)
        return 1
    except RoutingError as e:
        print(f"gtm-mcp: refusing to start, {e}", file=sys.stderr)
        return 2
    except (ValueError, ImportError, OSError) as e:
        print(f"gtm-mcp: cannot start: {e}", file=sys.stderr)
        return 1
    if settings.transport == "http" and (problem := _cannot_bind(settings.host, settings.port)):
        print(f"gtm-mcp: cannot listen on {settings.host}:{settings.port}: {problem}; choose another --port",
              file=sys.stderr)
        return 1
    try:
        anyio.run(serve, settings, simulator, surface)
    except KeyboardInterrupt:
        pass
    return 0


def _cannot_bind(host: str, port: int) -> str | None:
    """Why the HTTP server could not bind (port in use, bad address), found before starting it."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(infos[0][4])
    except OSError as e:
        return "the port is already in use" if e.errno == 98 else (e.strerror or str(e))
    return None


def cmd_check(args: argparse.Namespace) -> int:
    from gtm_mcp.tools.loader import files_under, load_all
    from gtm_mcp.tools.surface_formats import surface_duplicates

    files, _ = files_under(args.paths)
    tools, surface, problems = load_all(args.paths, fmt=args.format, namespace=args.namespace)
    problems += surface_duplicates(surface)
    for problem in problems:
        print(problem)
    if not args.quiet:
        status = "OK" if not problems else f"{len(problems)} problem(s)"
        more = (f" (and {len(surface.resources)} resource(s), {len(surface.templates)} resource template(s), "
                f"{len(surface.prompts)} prompt(s))") if len(surface) else ""
        print(f"{len(tools)} tool(s) usable from {len(files)} file(s){more}; {status}", file=sys.stderr)
    return 1 if problems else 0


def cmd_mirror(args: argparse.Namespace) -> int:
    from functools import partial

    import anyio

    from gtm_mcp.contract.definition import OUTPUT_CONTENT_META
    from gtm_mcp.tools.mirror_profile import fetch_profiled, with_profile
    from gtm_mcp.tools.mirror_surface import fetch_surface

    async def fetch_both() -> tuple[Any, Any]:  # two connections at once
        found: dict[str, Any] = {}

        async def fetch(part: str, call: Any) -> None:
            found[part] = await call()

        async with anyio.create_task_group() as tg:
            tg.start_soon(fetch, "tools", partial(fetch_profiled, args.target))
            tg.start_soon(fetch, "surface", partial(fetch_surface, args.target, probe=args.probe))
        return found["tools"], found["surface"]

    try:
        (entries, detection), surface = anyio.run(fetch_both)
    except Exception as e:  # any connection failure: say what could not be reached
        while isinstance(e, BaseExceptionGroup) and e.exceptions:
            e = e.exceptions[0]
        print(f"gtm-mcp: cannot list the tools of {args.target}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    print(f"argument checking: {detection.profile} ({detection.evidence})", file=sys.stderr)
    entries = with_profile(entries, detection.profile)
    for entry in entries:  # what probing learned rides in the tool's _meta (the MCP importer reads it)
        if entry.get("name") in surface.output_content:
            entry.setdefault("_meta", {})[OUTPUT_CONTENT_META] = surface.output_content[entry["name"]]
    doc = {"tools": entries, **{k: v for k, v in surface.entries.items() if v}}
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        counts = ", ".join(f"{len(v)} {k}" for k, v in surface.entries.items() if v)
        print(f"{len(entries)} tool(s){', ' + counts if counts else ''} written to {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def cmd_call(args: argparse.Namespace) -> int:
    import anyio

    from gtm_mcp.config import ConfigError, load_settings
    from gtm_mcp.contract.errors import ToolLoadError
    from gtm_mcp.server.runtime import build_simulator, setup_logging
    from gtm_mcp.sessions.keys import META_HIDDEN_CONTEXT

    try:
        arguments = json.loads(args.arguments)
    except json.JSONDecodeError as e:
        print(f"gtm-mcp: ARGUMENTS is not JSON: {e}", file=sys.stderr)
        return 2
    try:
        settings = load_settings(_flags(args))
        setup_logging("WARNING")
        simulator = build_simulator(settings)
    except (ConfigError, ToolLoadError, ValueError, ImportError, OSError) as e:
        print(f"gtm-mcp: {e}", file=sys.stderr)
        return 2
    meta = {META_HIDDEN_CONTEXT: args.hidden_context} if args.hidden_context else {}

    async def once() -> Any:
        try:
            async with simulator:
                return await simulator.call(args.tool, arguments, session_key="cli", meta=meta)
        finally:
            await simulator.backend.aclose()

    result = anyio.run(once)
    if result.is_error:
        print(result.text, file=sys.stderr)
        return 1
    structured = result.structured
    print(json.dumps(structured, indent=2, ensure_ascii=False) if structured is not None else result.text)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from gtm_mcp.envs.verl import export_verl
    from gtm_mcp.tools.loader import load_lenient

    tools, problems = load_lenient(args.paths, fmt=args.input_format)
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    document, changes = export_verl(tools)
    for name, changed in changes.items():
        print(f"{name}: " + "; ".join(changed), file=sys.stderr)
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)
    print(f"{len(tools)} tool(s) exported for {args.target}, {len(changes)} rewritten", file=sys.stderr)
    return 1 if problems and not tools else 0


def cmd_tools(args: argparse.Namespace) -> int:
    import httpx

    from gtm_mcp.tools.loader import read_document

    token = args.admin_token
    if args.admin_token_file and not token:
        try:
            token = Path(args.admin_token_file).read_text(encoding="utf-8").strip()
        except OSError as e:
            print(f"gtm-mcp: cannot read the admin token file: {e}", file=sys.stderr)
            return 2
    headers = {"authorization": f"Bearer {token}"} if token else {}
    base = args.url.rstrip("/").removesuffix("/mcp")
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            if args.action == "list":
                response = client.get("/admin/tools")
                if response.is_success:
                    for tool in response.json()["tools"]:
                        print(f"{tool['name']}\t{tool['description'][:80]}")
                    return 0
            elif args.action == "add":
                for path in args.items:
                    try:  # JSON, JSON Lines or YAML here; the server takes JSON
                        document = read_document(path)
                    except ValueError as e:
                        print(f"gtm-mcp: {e}", file=sys.stderr)
                        return 2
                    params = {"source": path, **({"check_profile": args.check_profile} if args.check_profile
                                                  else {})}
                    response = client.post("/admin/tools", json=document, params=params)
                    if not response.is_success:
                        break
                    print(f"{path}: added {len(response.json()['added'])} tool(s)")
                else:
                    return 0
            else:
                for name in args.items:
                    response = client.delete(f"/admin/tools/{name}")
                    if not response.is_success:
                        break
                    print(f"removed {name}")
                else:
                    return 0
    except httpx.HTTPError as e:
        print(f"gtm-mcp: cannot reach {base}: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"gtm-mcp: {e}", file=sys.stderr)
        return 2
    print(f"gtm-mcp: server answered {response.status_code}: {response.text}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"serve": cmd_serve, "check": cmd_check, "call": cmd_call, "tools": cmd_tools,
               "mirror": cmd_mirror, "export": cmd_export}[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
