"""Scale-out: calls/s with 1, 2 and 4 `gtm-mcp serve` replicas sharing sessions through Redis
behind nginx (round robin), and episodes lost when a replica is killed mid-run.

    PYTHONPATH=. .venv/bin/python benchmarks/scale_out.py [--episodes 200] [--concurrency 32]

Needs Debian's `redis-server` and `nginx` (scripts/setup_scale_out.sh installs both). The load
balancer is nginx 1.22 (`proxy_next_upstream error timeout`: a refused connection goes to the next
replica; a call in flight on a killed replica fails and the client retries it). Each episode is
create_order -> get_order(its id) -> list_orders -> get_order, every call naming its episode in
`_meta`; an episode is lost when a read does not return what it created, or a call fails after
retries. Also measured in the same run: one replica with in-memory sessions (no Redis), the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
TOOLS = str(REPO / "examples" / "shop_tools.json")

NGINX = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  upstream gtm {{
{servers}
    keepalive 128;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://gtm;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_read_timeout 120s;
      proxy_next_upstream error timeout;
    }}
  }}
}}
"""


@contextmanager
def nginx(ports: list[int], workdir: Path):
    from gtm_mcp.launch import free_port, spawned

    port = free_port()
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;" for p in ports)
    conf = workdir / f"nginx-{port}.conf"
    conf.write_text(NGINX.format(dir=workdir, servers=servers, port=port))
    with spawned(["nginx", "-c", str(conf)], f"http://127.0.0.1:{port}/healthz", log=workdir / "nginx.log"):
        yield f"http://127.0.0.1:{port}/mcp"


async def drive(url: str, episodes: int, concurrency: int, kill: callable | None = None) -> dict:
    """Run the episodes through `url`; returns calls/s, lost episodes and retried calls."""
    from mcp import Client

    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(episodes):
        queue.put_nowait(i)
    lost: set[int] = set()
    stats = {"calls": 0, "retries": 0}
    done = 0

    async def call(client_box: list, tool: str, arguments: dict, episode: int) -> dict | None:
        for _attempt in range(6):
            try:
                result = await client_box[0].call_tool(tool, arguments, meta={"gtm-mcp/session": f"s-{episode}"})
                stats["calls"] += 1
                return result.structured_content if not result.is_error else None
            except Exception:
                stats["retries"] += 1
                await asyncio.sleep(0.2)
                try:
                    await client_box[1].__aexit__(None, None, None)
                except BaseException:  # the old connection died with its replica
                    pass
                client_box[1] = Client(url)
                client_box[0] = await client_box[1].__aenter__()
        return None

    async def worker() -> None:
        nonlocal done
        box = [None, Client(url)]
        box[0] = await box[1].__aenter__()
        try:
            while not queue.empty():
                i = queue.get_nowait()
                created = await call(box, "create_order", {"product": f"item-{i}", "quantity": 1 + i % 7}, i)
                ok = created is not None
                for tool in ("get_order", "list_orders", "get_order"):
                    if not ok:
                        break
                    args = {} if tool == "list_orders" else {"order_id": created["order_id"]}
                    got = await call(box, tool, args, i)
                    if got is None:
                        ok = False
                    elif tool == "get_order":
                        ok = got.get("product") == f"item-{i}" and got.get("quantity") == 1 + i % 7
                    else:
                        ok = created["order_id"] in [o.get("order_id") for o in got.get("orders", [])]
                if not ok:
                    lost.add(i)
                done += 1
                if kill is not None and done == episodes // 3:
                    kill()
        finally:
            try:
                await box[1].__aexit__(None, None, None)
            except BaseException:
                pass

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"rate": stats["calls"] / elapsed, "lost": len(lost), "retries": stats["retries"], "calls": stats["calls"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    for binary in ("redis-server", "nginx"):
        if shutil.which(binary) is None:
            print(f"{binary} is not installed: bash scripts/setup_scale_out.sh", file=sys.stderr)
            return 2
    from redis_server import redis_server

    from gtm_mcp.launch import serve_http

    workdir = Path(tempfile.mkdtemp(prefix="gtm-scale-"))
    results = []
    with redis_server(workdir) as redis_url:
        def replicas(n: int, prefix: str, stack: ExitStack) -> list:
            flags = ("--tools", TOOLS, "--session-store", "redis", "--redis-url", redis_url, "--redis-prefix", prefix,
                     "--log-level", "WARNING")
            return [stack.enter_context(serve_http(*flags, log=workdir / f"{prefix}{k}.log")) for k in range(n)]

        with ExitStack() as stack:
            server = stack.enter_context(serve_http("--tools", TOOLS, "--log-level", "WARNING"))
            url = stack.enter_context(nginx([server.port], workdir))
            baseline = asyncio.run(drive(url, args.episodes, args.concurrency))
        for n in args.replicas:
            with ExitStack() as stack:
                servers = replicas(n, f"r{n}-", stack)
                url = stack.enter_context(nginx([s.port for s in servers], workdir))
                results.append((n, asyncio.run(drive(url, args.episodes, args.concurrency))))
        with ExitStack() as stack:
            servers = replicas(2, "kill-", stack)
            url = stack.enter_context(nginx([s.port for s in servers], workdir))
            victim = servers[0].proc
            killed = asyncio.run(drive(url, args.episodes, args.concurrency,
                                       kill=lambda: os.kill(victim.pid, signal.SIGKILL)))
    cores = os.cpu_count()
    print(f"{args.episodes} episodes x 4 calls, {args.concurrency} MCP clients through nginx, {cores} CPU cores, "
          "schema backend")
    print(f"  1 replica, in-memory sessions (baseline): {baseline['rate']:7.0f} calls/s, lost {baseline['lost']}")
    for n, r in results:
        print(f"  {n} replica(s), Redis sessions:            {r['rate']:7.0f} calls/s "
              f"({r['rate'] / results[0][1]['rate']:.2f}x of 1 replica), lost {r['lost']}")
    print(f"  2 replicas, one SIGKILLed after a third of the episodes: {killed['rate']:.0f} calls/s, "
          f"episodes lost {killed['lost']} of {args.episodes}, calls retried by clients {killed['retries']}")
    return 0 if killed["lost"] == 0 and all(r["lost"] == 0 for _, r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
