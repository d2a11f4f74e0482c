"""Playing episodes through a running gtm-mcp server, as an agent would: one server per simulator
(`gtm_mcp.launch.serve_http` with the simulator's backend flags), the official MCP client over
streamable HTTP, one session per episode (`_meta["gtm-mcp/session"]`, reset at its first call,
its hidden context set as the session context), the episode's calls in order with the recorded
arguments. What comes back is what an agent would have got."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

from gtm_mcp.contract import EpisodeRecord
from gtm_mcp.launch import serve_http
from training.evaluation.samples import NO_RESULT, Outcome, Sample, tool_groups

log = logging.getLogger("training.evaluation.runner")

#: model backends on CPU are slow: generous limits unless the user passes their own
MODEL_BACKEND_FLAGS = ("--timeout", "600", "--call-timeout", "900")


@dataclass(frozen=True)
class SimulatorSpec:
    """`LABEL=BACKEND[:MODEL][@BASE_URL]`, e.g. `schema`, `base=local:smollm2`,
    `gtm=local:gtm-smollm2`, `vllm=openai:gtm@http://127.0.0.1:8000/v1`."""

    label: str
    backend: str
    model: str | None = None
    base_url: str | None = None

    @classmethod
    def parse(cls, spec: str) -> SimulatorSpec:
        label, sep, rest = spec.partition("=")
        if not sep:
            label, rest = "", spec
        backend, _, target = rest.partition(":")
        model, _, base_url = target.partition("@")
        if backend not in ("schema", "local", "openai"):
            raise ValueError(f"--sim {spec!r}: the backend must be schema, local or openai "
                             "(LABEL=BACKEND[:MODEL][@BASE_URL])")
        if backend != "schema" and not model:
            raise ValueError(f"--sim {spec!r}: the {backend} backend needs a model (LABEL={backend}:MODEL...)")
        if backend == "openai" and not base_url:
            raise ValueError(f"--sim {spec!r}: the openai backend needs @BASE_URL")
        return cls(label or (backend if not model else f"{backend}:{model}"), backend, model or None,
                   base_url or None)

    def serve_flags(self, extra: list[str]) -> list[str]:
        flags = ["--backend", self.backend]
        if self.model:
            flags += ["--model", self.model]
        if self.base_url:
            flags += ["--base-url", self.base_url]
        if self.backend != "schema":
            given = set(extra)
            for i in range(0, len(MODEL_BACKEND_FLAGS), 2):
                if MODEL_BACKEND_FLAGS[i] not in given:
                    flags += list(MODEL_BACKEND_FLAGS[i:i + 2])
        return flags + extra


def outcome_of(result: Any) -> Outcome:
    """A CallToolResult as the agent sees it: structured content when given, else the text."""
    text = "\n".join(getattr(c, "text", "") for c in result.content if getattr(c, "type", "") == "text")
    structured = result.structured_content
    value: Any = structured if isinstance(structured, dict) and not result.is_error else text
    return Outcome(value, bool(result.is_error), text)


def _tools_document(episodes: list[EpisodeRecord]) -> dict[str, Any]:
    tools: dict[str, dict[str, Any]] = {}
    for episode in episodes:
        for tool in episode.tools:
            tools.setdefault(tool.name, tool.to_gtm())
    return {"format": "gtm", "tools": list(tools.values())}


async def _play(url: str, samples: list[Sample], label: str, *, concurrency: int, read_timeout_s: float,
                progress: Any = None) -> None:
    from mcp import Client

    by_episode: dict[str, list[Sample]] = {}
    for sample in samples:
        by_episode.setdefault(sample.episode.id, []).append(sample)
    limit = anyio.Semaphore(max(1, concurrency))

    async with Client(url, read_timeout_seconds=read_timeout_s) as client:
        await client.list_tools()

        async def episode(items: list[Sample]) -> None:
            async with limit:
                key = f"gtm-eval/{label}/{items[0].episode.id}"
                for position, sample in enumerate(sorted(items, key=lambda s: s.index)):
                    meta: dict[str, Any] = {"gtm-mcp/session": key}
                    if position == 0:
                        meta["gtm-mcp/reset"] = True
                        if sample.episode.hidden_context:
                            meta["gtm-mcp/session-context"] = sample.episode.hidden_context
                    started = time.perf_counter()
                    try:
                        result = await client.call_tool(sample.call.tool, sample.call.arguments, meta=meta)
                        sample.observed = outcome_of(result)
                    except Exception as e:  # the agent would have got nothing: recorded, and the run goes on
                        log.warning("%s: no result for %s: %s", label, sample.id, e)
                        sample.observed = Outcome(f"{NO_RESULT}: {type(e).__name__}", True,
                                                  f"{NO_RESULT}: {type(e).__name__}: {e}")
                    sample.latency_s = time.perf_counter() - started
                    if progress is not None:
                        progress()

        async with anyio.create_task_group() as group:
            for items in by_episode.values():
                group.start_soon(episode, items)


def run_simulator(spec: SimulatorSpec, samples: list[Sample], *, serve_args: list[str], concurrency: int,
                  log_dir: Path, progress: Any = None) -> dict[str, Any]:
    """Answer every sample through a fresh server with this simulator; returns the server's
    /healthz at the end (backend state, outcome counts)."""
    episodes = list({s.episode.id: s.episode for s in samples}.values())
    groups = tool_groups(episodes)
    flags = spec.serve_flags(serve_args)
    read_timeout_s = 960.0
    log_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gtm-eval-") as tmp:
        first = Path(tmp) / "tools.json"
        first.write_text(json.dumps(_tools_document(groups[0])))
        server_log = log_dir / f"server-{_safe(spec.label)}.log"
        with serve_http("--tools", str(first), *flags, log=server_log, ready_s=120) as server:
            served = {t["name"] for t in _tools_document(groups[0])["tools"]}
            for number, group in enumerate(groups):
                if number:
                    served = _swap_tools(server.base, served, group)
                ids = {e.id for e in group}
                anyio.run(lambda: _play(server.url, [s for s in samples if s.episode.id in ids], spec.label,  # noqa: B023
                                        concurrency=concurrency, read_timeout_s=read_timeout_s, progress=progress))
            return server.healthz()


def _swap_tools(base: str, served: set[str], group: list[EpisodeRecord]) -> set[str]:
    """Replace the server's tools by this group's (admin routes; the server binds to loopback)."""
    document = _tools_document(group)
    for name in served:
        httpx.delete(f"{base}/admin/tools/{name}", timeout=30).raise_for_status()
    response = httpx.post(f"{base}/admin/tools", json=document, timeout=60)
    if response.status_code >= 400:
        raise RuntimeError(f"the server refused the tools of an episode group: {response.text[:500]}")
    return {t["name"] for t in document["tools"]}


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:80]
