"""Every HTTP route has the DNS-rebinding / cross-site protection of /mcp; admin writes need JSON and
stay under a byte limit; a failure inside an admin route shows the client an id, not the exception.

The first tests replay, against a real server process, the requests an outside review made: a
`text/plain` POST to /admin/tools with a foreign Origin (was 201) and /admin/sessions with
`Host: evil.example.com` (was 200).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx
import pytest
from conftest import ServerProcess, run_server

from gtm_mcp.backends.schema import SchemaBackend
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.server.http import build_http_app
from gtm_mcp.server.mcp_server import build_server
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog

TOOL = {"name": "book_flight", "inputSchema": {"type": "object", "properties": {"to": {"type": "string"}}}}
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with run_server("--max-admin-body", str(LIMIT), "--allowed-hosts", "gtm.internal:*",
                    tmp_path=tmp_path_factory.mktemp("guard")) as srv:
        yield srv


def test_cross_site_text_plain_post_is_refused(server: ServerProcess) -> None:
    body = json.dumps({"tools": [TOOL]})
    foreign = httpx.post(f"{server.base}/admin/tools", content=body,
                         headers={"content-type": "text/plain", "origin": "http://evil.example.com"})
    assert foreign.status_code == 403
    # Same origin but text/plain (what a browser form or fetch without preflight can send): 415.
    plain = httpx.post(f"{server.base}/admin/tools", content=body, headers={"content-type": "text/plain"})
    assert plain.status_code == 415 and "application/json" in plain.json()["error"]
    form = httpx.post(f"{server.base}/admin/tools", data={"tools": body})
    assert form.status_code == 415
    names = [t["name"] for t in httpx.get(f"{server.base}/admin/tools").json()["tools"]]
    assert "book_flight" not in names  # nothing of the refused requests was registered
    ok = httpx.post(f"{server.base}/admin/tools", json={"tools": [TOOL]},
                    headers={"origin": f"http://127.0.0.1:{server.port}"})
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize(("method", "path"), [("GET", "/admin/sessions"), ("PUT", "/admin/sessions/a"),
                                              ("GET", "/admin/sessions/a"), ("GET", "/admin/tools"),
                                              ("DELETE", "/admin/tools/get_weather"), ("GET", "/healthz"),
                                              ("GET", "/mcp"), ("POST", "/mcp/episode-1")])
def test_foreign_host_is_refused_on_every_route(server: ServerProcess, method: str, path: str) -> None:
    response = httpx.request(method, f"{server.base}{path}", json={"hidden_context": "x"},
                             headers={"host": "evil.example.com"})
    assert response.status_code == 421, (path, response.status_code, response.text)


def test_healthz_and_admin_answer_loopback_and_allowed_hosts(server: ServerProcess) -> None:
    assert httpx.get(f"{server.base}/healthz").status_code == 200
    assert httpx.get(f"{server.base}/admin/sessions", headers={"host": f"gtm.internal:{server.port}"}).status_code \
        == 200
    assert httpx.get(f"{server.base}/healthz", headers={"origin": "https://evil.example.com"}).status_code == 403
    put = httpx.put(f"{server.base}/admin/sessions/s1", json={"hidden_context": "rainy"})
    assert put.status_code == 200 and httpx.get(f"{server.base}/admin/sessions/s1").json()["hidden_context"] == "rainy"
    bad = httpx.put(f"{server.base}/admin/sessions/s1", content=b"{not json", headers={"content-type":
                                                                                      "application/json"})
    assert bad.status_code == 400  # broken JSON no longer clears the context silently
    assert httpx.get(f"{server.base}/admin/sessions/s1").json()["hidden_context"] == "rainy"


def test_admin_body_limit(server: ServerProcess) -> None:
    big = {"tools": [{**TOOL, "name": f"t{i}", "description": "x" * 200} for i in range(400)]}
    response = httpx.post(f"{server.base}/admin/tools", json=big)
    assert response.status_code == 413 and "--max-admin-body" in response.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is found while streaming
        yield b'{"tools": ['
        for i in range(400):
            yield json.dumps({**TOOL, "name": f"c{i}", "description": "x" * 200}).encode() + b","
        yield b"{}]}"

    streamed = httpx.post(f"{server.base}/admin/tools", content=chunks(), headers={"content-type":
                                                                                   "application/json"})
    assert streamed.status_code == 413
    assert server.proc.poll() is None


def _app(simulator: Simulator, **kw):
    return build_http_app(build_server(simulator), simulator, max_admin_body=LIMIT, **kw)


def _simulator() -> Simulator:
    return Simulator(ToolCatalog(), SchemaBackend(), SessionStore())


def test_an_oversized_body_is_not_read_whole() -> None:
    """In process (httpx's ASGI transport hands the body over chunk by chunk): the route stops
    reading soon after the limit, instead of taking the whole upload into memory."""
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b" " * 16 * 1024

    async def main() -> int:
        transport = httpx.ASGITransport(app=_app(_simulator()))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as client:
            response = await client.post("/admin/tools", content=chunks(), headers={"content-type":
                                                                                    "application/json"})
            return response.status_code

    assert anyio.run(main) == 413
    assert sent <= LIMIT // (16 * 1024) + 2  # 16 MB offered, ~64 KiB read


def test_admin_failures_show_an_id_not_the_exception(caplog: pytest.LogCaptureFixture) -> None:
    simulator = _simulator()

    def broken_add(tools):
        raise RuntimeError("secret detail /srv/internal/path")

    simulator.catalog.add = broken_add  # type: ignore[method-assign]

    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=_app(simulator))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as client:
            return await client.post("/admin/tools", json={"tools": [TOOL]})

    with caplog.at_level(logging.ERROR):
        response = anyio.run(main)
    assert response.status_code == 500
    text = response.text
    assert "secret" not in text and "RuntimeError" not in text and "/srv" not in text
    ref = response.json()["error"].split("ref ")[1].split(")")[0]
    assert ref in caplog.text and "secret detail" in caplog.text  # the operator finds it by the id
