"""Admin routes for resources, resource templates and prompts (added with `POST /admin/tools`, whose
document may hold them beside tools):

- `GET /admin/surface`: every resource, resource template and prompt, with where it came from;
- `DELETE /admin/resources?uri=URI`, `DELETE /admin/resource-templates?uri_template=T`,
  `DELETE /admin/prompts/<name>`: remove one (clients are told the list changed).

They answer under the same rule as the other admin routes (loopback bind, or the admin token).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gtm_mcp.surface.catalog import SurfaceCatalog


def surface_routes(catalog: SurfaceCatalog, authorised: Callable[[Request], Response | None]) -> list[Route]:
    async def listing(request: Request) -> Response:
        if (denied := authorised(request)) is not None:
            return denied

        def row(item: Any, key: str) -> dict[str, Any]:
            return {key: getattr(item, key), "name": item.name, "description": item.description[:200],
                    "source": item.source, "server": item.server}

        return JSONResponse({"resources": [{**row(r, "uri"), "mimeType": r.mime_type,
                                            "recorded": r.content is not None} for r in catalog.resources()],
                             "resource_templates": [{**row(t, "uri_template"), "mimeType": t.mime_type}
                                                    for t in catalog.templates()],
                             "prompts": [{"name": p.name, "description": p.description[:200], "source": p.source,
                                          "arguments": [a.name for a in p.arguments],
                                          "recordings": len(p.recordings)} for p in catalog.prompts()],
                             "counts": catalog.counts()})

    def remover(kind: str, parameter: str | None) -> Callable[[Request], Any]:
        async def remove(request: Request) -> Response:
            if (denied := authorised(request)) is not None:
                return denied
            key = request.query_params.get(parameter) if parameter else request.path_params.get("name")
            if not key:
                return JSONResponse({"error": f"name the {kind} to remove with ?{parameter}="}, 400)
            removed = catalog.remove(**{kind: [key]})
            if not any(removed.values()):
                return JSONResponse({"error": f"no {kind[:-1].replace('_', ' ')} {key!r}"}, 404)
            return JSONResponse({"removed": removed, "counts": catalog.counts()})

        return remove

    return [Route("/admin/surface", listing, methods=["GET"]),
            Route("/admin/resources", remover("resources", "uri"), methods=["DELETE"]),
            Route("/admin/resource-templates", remover("templates", "uri_template"), methods=["DELETE"]),
            Route("/admin/prompts/{name:path}", remover("prompts", None), methods=["DELETE"])]
