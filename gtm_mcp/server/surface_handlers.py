"""MCP handlers for the rest of a server's surface: resources (list, templates, read, subscribe),
prompts (list, get), completion, logging, and what a tool call adds around the pipeline (progress
and log notifications, non-text content, resource updates). `build_server` wires them in."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import mcp.types as types
from mcp.shared.exceptions import MCPError

from gtm_mcp.calls.checking import check_call
from gtm_mcp.calls.pipeline import CallResult, Outcome, Simulator
from gtm_mcp.contract.definition import OUTPUT_CONTENT_META, ToolDefinition
from gtm_mcp.server.notify import ChangeNotifier
from gtm_mcp.surface.catalog import SurfaceCatalog
from gtm_mcp.surface.client_log import ClientLog
from gtm_mcp.surface.completion import complete
from gtm_mcp.surface.content import tool_content
from gtm_mcp.surface.describe import listed_description
from gtm_mcp.surface.prompts import PromptRenderer
from gtm_mcp.surface.resources import INVALID_PARAMS, ResourceReader, SurfaceError

log = logging.getLogger(__name__)
_LOG_LEVEL_FOR = {Outcome.OK: "info", Outcome.TOOL_ERROR: "warning", Outcome.BAD_ARGUMENTS: "warning",
                  Outcome.UNKNOWN_TOOL: "warning", Outcome.SIMULATOR_FAILED: "error", Outcome.INTERNAL_ERROR: "error"}


def _error(e: SurfaceError) -> MCPError:
    return MCPError(e.code, e.message, e.data)


def listed_tool(tool: ToolDefinition) -> types.Tool:
    """A tool as `tools/list` shows it: a description (derived and marked when the source has
    none), and its declared output content under `_meta`."""
    description, meta = listed_description(tool)
    if tool.output_content:
        meta = {**(meta or {}), OUTPUT_CONTENT_META: [c.model_dump(exclude_none=True) for c in tool.output_content]}
    return types.Tool(name=tool.name, description=description, input_schema=tool.input_schema,
                      output_schema=tool.output_schema, meta=meta)


class SurfaceHandlers:
    """The handlers, sharing one catalog, resource reader, prompt renderer, log and notifier."""

    def __init__(self, simulator: Simulator, catalog: SurfaceCatalog, notifier: ChangeNotifier,
                 session_of: Any) -> None:
        self.simulator = simulator
        self.catalog = catalog
        self.notifier = notifier
        self.session_of = session_of  # (ctx, params) -> session key
        self.reader = ResourceReader(simulator, catalog)
        self.prompts = PromptRenderer(self.reader, allow_extra=simulator.allow_extra_params)
        self.client_log = ClientLog()
        catalog.on_change(notifier.lists_changed)
        self._lists: dict[str, Any] = {}

    def _cached(self, name: str, build: Any) -> Any:
        version, result = self._lists.get(name, (-1, None))
        if version != self.catalog.version:
            result = build()
            self._lists[name] = (self.catalog.version, result)
        return result

    # -- resources --------------------------------------------------------------------------------

    async def list_resources(self, ctx: Any, params: Any) -> types.ListResourcesResult:
        self.notifier.track(ctx)
        return self._cached("resources", lambda: types.ListResourcesResult(
            resources=[types.Resource.model_validate(r.to_mcp()) for r in self.catalog.resources()]))

    async def list_resource_templates(self, ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        self.notifier.track(ctx)
        return self._cached("templates", lambda: types.ListResourceTemplatesResult(
            resource_templates=[types.ResourceTemplate.model_validate(t.to_mcp()) for t in self.catalog.templates()]))

    async def read_resource(self, ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        self.notifier.track(ctx)
        key = self.session_of(ctx, params)
        started = time.perf_counter()
        try:
            read = await self.reader.read(params.uri, key, params.meta or {})
        except SurfaceError as e:
            await self.client_log.emit(ctx, "warning" if e.code != -32603 else "error",
                                       f"resources/read {params.uri} refused: {e.message}", uri=params.uri, session=key)
            raise _error(e) from None
        content = read.content
        how = {"recorded": "recorded content", "media": "a generated file", "written": "what a call wrote",
               "simulated": f"the {self.simulator.backend.name} backend"}[content.origin]
        await self.client_log.emit(ctx, "info", f"resources/read {params.uri}: " + (
            f"{how} in {1000 * (time.perf_counter() - started):.1f} ms" if read.fresh else "as this session read it "
            "before"), uri=params.uri, session=key, origin=content.origin if read.fresh else "session")
        entry = (types.TextResourceContents(uri=content.uri, mime_type=content.mime_type, text=content.text)
                 if content.text is not None else
                 types.BlobResourceContents(uri=content.uri, mime_type=content.mime_type, blob=content.blob or ""))
        return types.ReadResourceResult(contents=[entry])

    async def subscribe(self, ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
        self.notifier.track(ctx)
        if not self.notifier.subscribe(ctx, self.session_of(ctx, params), params.uri):
            raise MCPError(INVALID_PARAMS, "Too many resource subscriptions on this connection; unsubscribe first.")
        return types.EmptyResult()

    async def unsubscribe(self, ctx: Any, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        self.notifier.unsubscribe(ctx, self.session_of(ctx, params), params.uri)
        return types.EmptyResult()

    # -- prompts ----------------------------------------------------------------------------------

    async def list_prompts(self, ctx: Any, params: Any) -> types.ListPromptsResult:
        self.notifier.track(ctx)
        return self._cached("prompts", lambda: types.ListPromptsResult(
            prompts=[types.Prompt.model_validate(p.to_mcp()) for p in self.catalog.prompts()]))

    async def get_prompt(self, ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        self.notifier.track(ctx)
        prompt = self.catalog.prompt(params.name)
        if prompt is None:
            known = ", ".join(p.name for p in self.catalog.prompts()[:20]) or "none"
            raise MCPError(INVALID_PARAMS, f"Unknown prompt {params.name!r}; known prompts: {known}.")
        key = self.session_of(ctx, params)
        try:
            result = await self.prompts.get(prompt, params.arguments, key)
        except SurfaceError as e:
            await self.client_log.emit(ctx, "warning", f"prompts/get {params.name} refused: {e.message}",
                                       prompt=params.name, session=key)
            raise _error(e) from None
        await self.client_log.emit(ctx, "info", f"prompts/get {params.name}: {len(result['messages'])} message(s)",
                                   prompt=params.name, session=key)
        return types.GetPromptResult.model_validate(result)

    # -- completion, logging ----------------------------------------------------------------------

    async def complete(self, ctx: Any, params: types.CompleteRequestParams) -> types.CompleteResult:
        key = self.session_of(ctx, params)
        context = params.context.arguments if params.context is not None else None
        try:
            async with self.simulator.sessions.lease(key) as session:
                completion = complete(self.catalog, params.ref.model_dump(), params.argument.name,
                                      params.argument.value, session, context)
        except SurfaceError as e:
            raise _error(e) from None
        return types.CompleteResult(completion=types.Completion.model_validate(completion))

    async def set_level(self, ctx: Any, params: types.SetLevelRequestParams) -> types.EmptyResult:
        self.notifier.track(ctx)
        self.client_log.set_level(ctx, params.level)
        return types.EmptyResult()

    # -- around a tool call -----------------------------------------------------------------------

    async def call_tool(self, ctx: Any, name: str, arguments: Any, key: str, meta: Mapping[str, Any]) -> CallResult:
        """`Simulator.call` with progress (when the request carries a progress token) and log
        notifications around it, then the resources the call changed (subscribers told)."""
        token = (meta.get("progress_token", meta.get("progressToken")) if isinstance(meta, Mapping) else None)
        wants_progress = token is not None
        logging_on = self.client_log.threshold(ctx) is not None
        tool = self.simulator.catalog.get(name)
        if logging_on:
            await self.client_log.emit(ctx, "info", f"tools/call {name} started", tool=name, session=key)
        if wants_progress:
            await ctx.session.report_progress(0, 100, f"{name}: received")
            if tool is not None:
                valid = check_call(tool, arguments, default_profile=self.simulator.check_profile,
                                   allow_extra=self.simulator.allow_extra_params).accepted
                await ctx.session.report_progress(50, 100, f"{name}: " + (
                    f"arguments valid, simulating with the {self.simulator.backend.name} backend" if valid
                    else "arguments refused"))
        started = time.perf_counter()
        result = await self.simulator.call(name, arguments, session_key=key, meta=meta)
        changed = (await self.reader.changed_by_call(key, name, arguments)
                   if result.outcome is Outcome.OK and len(self.catalog) else [])
        if changed:
            await self.notifier.resources_updated(key, changed)
        if logging_on:
            await self._log_call(ctx, name, key, result, time.perf_counter() - started, changed)
        if wants_progress:
            await ctx.session.report_progress(100, 100, f"{name}: {result.outcome.value}")
        return result

    async def _log_call(self, ctx: Any, name: str, key: str, result: CallResult, seconds: float,
                        changed: list[str]) -> None:
        outcome = result.outcome
        if outcome is not Outcome.UNKNOWN_TOOL:
            await self.client_log.emit(ctx, "debug" if outcome is not Outcome.BAD_ARGUMENTS else "warning",
                                       f"{name}: arguments " + ("refused: " + result.text[:300]
                                                                if outcome is Outcome.BAD_ARGUMENTS else "valid"),
                                       tool=name, session=key)
        text = {Outcome.OK: f"answered by the {self.simulator.backend.name} backend",
                Outcome.TOOL_ERROR: "the simulated tool refused the call",
                Outcome.UNKNOWN_TOOL: "no such tool", Outcome.BAD_ARGUMENTS: "not executed",
                Outcome.SIMULATOR_FAILED: "the simulator failed", Outcome.INTERNAL_ERROR: "internal error"}[outcome]
        await self.client_log.emit(ctx, _LOG_LEVEL_FOR[outcome], f"{name}: {text} in {1000 * seconds:.1f} ms",
                                   tool=name, session=key, outcome=outcome.value)
        for uri in changed:
            await self.client_log.emit(ctx, "info", f"{name} changed the resource {uri}", tool=name, uri=uri,
                                       session=key)

    async def result_content(self, name: str, arguments: Any, result: CallResult, key: str) -> list[Any]:
        """The result's content items: text, or what the tool declares (images, audio, resources)."""
        tool = self.simulator.catalog.get(name)
        if tool is None or not tool.output_content or result.is_error:
            return [types.TextContent(type="text", text=result.text)]
        items = await tool_content(tool, arguments if isinstance(arguments, dict) else {}, result.text,
                                   seed=self.simulator.seed, session_key=key, reader=self.reader)
        adapter = {"text": types.TextContent, "image": types.ImageContent, "audio": types.AudioContent,
                   "resource": types.EmbeddedResource, "resource_link": types.ResourceLink}
        return [adapter[item["type"]].model_validate(item) for item in items]
