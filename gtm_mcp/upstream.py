"""Long-lived connections to the real MCP servers that hybrid routing sends calls to.

One `Upstream` per mirrored server (an http(s) URL, or a command started over stdio): it keeps
one MCP client session open for the whole run, opens it on first use (or at start), re-opens it
after the connection breaks (with a growing pause between attempts), and bounds every call by a
timeout. A server that is down or too slow never takes ours down: the call fails with an
`UpstreamError` whose text is shown to the agent, and the next attempt happens on a later call.

An `UpstreamPool` owns the connections' tasks; enter it (`async with pool:`) in the event loop
that serves calls.
"""

from __future__ import annotations

import logging
import math
import shlex
import time
from collections.abc import Iterable
from typing import Any, Literal

import anyio
from anyio.abc import TaskGroup, TaskStatus

from gtm_mcp.contract import ToolOutput

log = logging.getLogger(__name__)

UpstreamState = Literal["idle", "connecting", "up", "closing", "down", "closed"]
#: Consecutive call timeouts after which a connection is considered hung and re-opened.
HUNG_AFTER_TIMEOUTS = 3


class UpstreamError(Exception):
    """The real server could not answer: unreachable, too slow, or the connection broke. The
    message names the server and what happened, for the agent (no internals)."""


def client_target(spec: str) -> Any:
    """What `mcp.Client` connects to: the URL as is, or the command line as stdio parameters."""
    from mcp import StdioServerParameters

    if spec.startswith(("http://", "https://")):
        return spec
    argv = shlex.split(spec)
    if not argv:
        raise ValueError("the real server's command line is empty: give an http(s) URL or a command")
    return StdioServerParameters(command=argv[0], args=argv[1:])


def label_of(spec: str) -> str:
    """A short name for messages: the URL, or the command's program name."""
    if spec.startswith(("http://", "https://")):
        return spec
    argv = shlex.split(spec) or [spec]
    program = next((a for a in argv if "=" not in a and a != "env"), argv[0])
    return program.rsplit("/", 1)[-1]


def output_of(result: Any) -> ToolOutput:
    """A real `CallToolResult` as a tool output: its structured content when it has some, else its
    text parts joined (other content is described in one line each: image, audio, resource)."""
    if result.structured_content is not None and not result.is_error:
        return ToolOutput(dict(result.structured_content))
    parts: list[str] = []
    for item in result.content or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind}: {getattr(item, 'mime_type', '') or 'unknown type'}, "
                         f"{len(getattr(item, 'data', '') or '') * 3 // 4} bytes]")
        elif kind == "resource_link":
            parts.append(f"[resource: {getattr(item, 'uri', '')}]")
        elif kind == "resource":
            resource = getattr(item, "resource", None)
            text = getattr(resource, "text", None)
            parts.append(text if isinstance(text, str) else f"[resource: {getattr(resource, 'uri', '')}]")
    return ToolOutput("\n".join(parts), is_error=bool(result.is_error))


def _describe(error: BaseException) -> str:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class Upstream:
    """One persistent MCP client session to one real server."""

    def __init__(self, spec: str, *, call_timeout_s: float = 30.0, connect_timeout_s: float = 30.0,
                 first_retry_s: float = 0.5, max_retry_s: float = 30.0) -> None:
        self.spec = spec
        self.label = label_of(spec)
        self.call_timeout_s = call_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.first_retry_s = first_retry_s
        self.max_retry_s = max_retry_s
        self.state: UpstreamState = "idle"
        self.last_error: str | None = None
        self.calls = 0
        self.failures = 0
        self.connects = 0
        self.failed_attempts = 0
        self._client: Any = None
        self._running = False
        self._want_at_start = False
        self._wanted: anyio.Event | None = None  # a call (or the start) asks for a connection
        self._broken: anyio.Event | None = None  # set: the current connection ends
        self._changed: anyio.Event | None = None  # set (and replaced) on every state change
        self._retry_s = first_retry_s
        self._retry_at = 0.0
        self._timeouts_in_a_row = 0

    # -- the connection's own task -----------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Open the connection whenever it is wanted, hold it until it breaks, then wait for the
        next demand. Runs until cancelled (the pool's task group)."""
        # Events belong to the running event loop: made here, not in __init__.
        self._wanted, self._broken, self._changed = anyio.Event(), anyio.Event(), anyio.Event()
        if self._want_at_start:
            self._wanted.set()
        self._running = True
        self._set_state("idle")
        task_status.started()
        try:
            while True:
                await self._wanted.wait()
                self._set_state("connecting")
                connects = self.connects
                try:
                    await self._hold_connection()
                    self.last_error = self.last_error or "the connection was closed"
                except Exception as e:  # any transport failure: the server stays down until the next attempt
                    self.last_error = _describe(e)
                    log.warning("real server %s: connection failed or lost: %s", self.label, self.last_error)
                self._client = None
                if self.connects > connects:  # it was up, then broke: the next call reconnects at once
                    self._retry_at = 0.0
                else:  # the attempt failed: wait longer before each new one
                    self.failed_attempts += 1
                    self._retry_at = time.monotonic() + self._retry_s
                    self._retry_s = min(self._retry_s * 2, self.max_retry_s)
                self._wanted = anyio.Event()
                self._set_state("down")
        finally:
            self._running = False
            self._client = None
            self._set_state("closed")

    async def _hold_connection(self) -> None:
        from mcp import Client

        target = client_target(self.spec)
        connected = False
        # One scope for the whole connection: the connect deadline is lifted once connected (anyio
        # scopes must close in order, so the timeout cannot be a scope of its own around the entry).
        with anyio.CancelScope(deadline=anyio.current_time() + self.connect_timeout_s) as scope:
            async with Client(target) as client:
                connected = True
                scope.deadline = math.inf
                self._client = client
                self._broken = anyio.Event()
                self._retry_s = self.first_retry_s
                self._timeouts_in_a_row = 0
                self.connects += 1
                self.last_error = None
                self._set_state("up")
                log.info("real server %s: connected", self.label)
                await self._broken.wait()
        if not connected and scope.cancelled_caught:
            raise TimeoutError(f"no connection within {self.connect_timeout_s:g} s")

    def _set_state(self, state: UpstreamState) -> None:
        self.state = state
        if self._changed is not None:
            changed, self._changed = self._changed, anyio.Event()
            changed.set()

    def _break(self, why: str) -> None:
        """End the current connection (calls wait for the next one instead of using this one)."""
        if self.state == "up" and self._broken is not None:
            self.last_error = why
            self._client = None
            self._set_state("closing")
            self._broken.set()

    def want(self) -> None:
        """Ask for a connection now (the pool does at start, so the first call finds it open)."""
        if self._wanted is None:
            self._want_at_start = True
        else:
            self._wanted.set()

    # -- calls ---------------------------------------------------------------------------------------

    async def _connected(self) -> Any:
        if not self._running or self._wanted is None or self._changed is None:
            raise UpstreamError(f"the connection to the real server {self.label} is not running (the simulator "
                                "was not started: use `async with simulator:`)")
        deadline = anyio.current_time() + self.connect_timeout_s
        failed_before = self.failed_attempts
        while True:
            if self.state == "up" and self._client is not None:
                return self._client
            if self.state == "closed":
                raise UpstreamError(f"the connection to the real server {self.label} is closed")
            if self.state in ("idle", "down") and not self._wanted.is_set():
                wait = self._retry_at - time.monotonic()
                if self.state == "down" and wait > 0:
                    raise UpstreamError(f"the real server {self.label} is unreachable ({self.last_error}); the next "
                                        f"connection attempt is in {wait:.1f} s")
                self._wanted.set()
            changed = self._changed
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
                await changed.wait()
            if not changed.is_set():
                raise UpstreamError(f"the real server {self.label} did not accept a connection within "
                                    f"{self.connect_timeout_s:g} s")
            if self.state == "down" and self.failed_attempts > failed_before:
                raise UpstreamError(f"the real server {self.label} is unreachable ({self.last_error})")

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolOutput:
        """The real tool's answer (its own refusals are isError outputs); raises UpstreamError when
        the server cannot answer."""
        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED

        client = await self._connected()
        self.calls += 1
        try:
            with anyio.fail_after(self.call_timeout_s):
                result = await client.call_tool(name, arguments)
        except TimeoutError:
            self.failures += 1
            self._timeouts_in_a_row += 1
            if self._timeouts_in_a_row >= HUNG_AFTER_TIMEOUTS:
                self._break(f"{self._timeouts_in_a_row} calls in a row timed out")
            raise UpstreamError(f"the real server {self.label} did not answer within {self.call_timeout_s:g} s "
                                "(--upstream-timeout)") from None
        except MCPError as e:
            if e.code != CONNECTION_CLOSED:  # the server answered with a JSON-RPC error: its refusal
                return ToolOutput(f"MCP error {e.code}: {e.message}", is_error=True)
            self.failures += 1
            self._break("the connection was closed")
            raise UpstreamError(f"the connection to the real server {self.label} was lost; it is re-opened on "
                                "the next call") from None
        except RuntimeError as e:
            if "structured content" in str(e):  # the SDK client's own output-schema check refused the result
                return ToolOutput(f"The real tool returned an output its schema refuses: {e}", is_error=True)
            self.failures += 1
            self._break(_describe(e))
            raise UpstreamError(f"the connection to the real server {self.label} failed ({_describe(e)})") from None
        except Exception as e:  # transport failures: closed streams, refused connections, dead processes
            self.failures += 1
            self._break(_describe(e))
            raise UpstreamError(f"the connection to the real server {self.label} failed ({_describe(e)}); it is "
                                "re-opened on the next call") from None
        self._timeouts_in_a_row = 0
        return output_of(result)

    def stats(self) -> dict[str, Any]:
        return {"server": self.label, "state": self.state, "calls": self.calls, "failures": self.failures,
                "connects": self.connects, **({"last_error": self.last_error} if self.last_error else {})}


class UpstreamPool:
    """The connections of one server, by spec. `async with pool:` runs them (and opens each at
    start, in the background); leaving it closes them."""

    def __init__(self, specs: Iterable[str] = (), *, call_timeout_s: float = 30.0,
                 connect_timeout_s: float = 30.0) -> None:
        self.upstreams: dict[str, Upstream] = {
            spec: Upstream(spec, call_timeout_s=call_timeout_s, connect_timeout_s=connect_timeout_s)
            for spec in dict.fromkeys(specs)}
        self._tg: TaskGroup | None = None

    def __bool__(self) -> bool:
        return bool(self.upstreams)

    def get(self, spec: str) -> Upstream | None:
        return self.upstreams.get(spec)

    async def __aenter__(self) -> UpstreamPool:
        if self.upstreams:
            self._tg = anyio.create_task_group()
            await self._tg.__aenter__()
            for upstream in self.upstreams.values():
                upstream.want()
                await self._tg.start(upstream.run)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
            await self._tg.__aexit__(None, None, None)
            self._tg = None

    def stats(self) -> list[dict[str, Any]]:
        return [u.stats() for u in self.upstreams.values()]
