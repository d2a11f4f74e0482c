"""The server's global resources, resource templates and prompts, changed at run time like tools.

Resources are keyed by URI, templates by their URI template, prompts by name; adding a key that is
registered is refused. Every change bumps `version` and tells listeners which lists changed
(`"resources"` for resources and templates, `"prompts"`), so the server sends
`notifications/resources/list_changed` / `notifications/prompts/list_changed`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Literal

from gtm_mcp.contract.surface import (
    PromptDefinition,
    ResourceDefinition,
    ResourceTemplateDefinition,
    SurfaceDefinitions,
)

log = logging.getLogger(__name__)
ListKind = Literal["resources", "prompts"]
Resolved = tuple[ResourceDefinition | ResourceTemplateDefinition, dict[str, str]]


class DuplicateDefinitionError(ValueError):
    """A resource URI, template or prompt name that is already registered."""

    def __init__(self, kind: str, name: str, existing: str | None, new: str | None) -> None:
        self.kind, self.name = kind, name
        where = f" (registered from {existing})" if existing else ""
        source = f" from {new}" if new else ""
        super().__init__(f"duplicate {kind} {name!r}{source}: one is already registered{where}; remove it first")


def _specificity(template: ResourceTemplateDefinition) -> tuple[int, int]:
    """Templates with more literal text match first (`a://x/{id}/data` before `a://{+path}`)."""
    literal = "".join(part.split("}")[-1] for part in template.uri_template.split("{"))
    return -len(literal), 0


class SurfaceCatalog:
    def __init__(self, surface: SurfaceDefinitions | None = None) -> None:
        self._resources: dict[str, ResourceDefinition] = {}
        self._templates: dict[str, ResourceTemplateDefinition] = {}
        self._prompts: dict[str, PromptDefinition] = {}
        self._ordered_templates: list[ResourceTemplateDefinition] = []
        self._listeners: list[Callable[[set[ListKind]], None]] = []
        self.version = 0
        if surface is not None:
            self.add(surface)

    def __len__(self) -> int:
        return len(self._resources) + len(self._templates) + len(self._prompts)

    # -- reading -------------------------------------------------------------------------------

    def resources(self) -> list[ResourceDefinition]:
        return list(self._resources.values())

    def templates(self) -> list[ResourceTemplateDefinition]:
        return list(self._templates.values())

    def prompts(self) -> list[PromptDefinition]:
        return list(self._prompts.values())

    def resource(self, uri: str) -> ResourceDefinition | None:
        return self._resources.get(uri)

    def template(self, uri_template: str) -> ResourceTemplateDefinition | None:
        return self._templates.get(uri_template)

    def prompt(self, name: str) -> PromptDefinition | None:
        return self._prompts.get(name)

    def resolve(self, uri: str) -> Resolved | None:
        """The definition a URI reads: the resource of that URI, else the most specific template
        that produces it (with its variables); None when nothing does."""
        found = self._resources.get(uri)
        if found is not None:
            return found, {}
        for template in self._ordered_templates:
            variables = template.match(uri)
            if variables is not None:
                return template, variables
        return None

    def counts(self) -> dict[str, int]:
        return {"resources": len(self._resources), "resource_templates": len(self._templates),
                "prompts": len(self._prompts)}

    # -- changing ------------------------------------------------------------------------------

    def on_change(self, listener: Callable[[set[ListKind]], None]) -> Callable[[], None]:
        """Call `listener(kinds)` after every change; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def check(self, surface: SurfaceDefinitions) -> None:
        """Raise `DuplicateDefinitionError` if `add(surface)` would be refused (nothing changes)."""
        self._check_new(surface, self._resources, self._templates, self._prompts)

    def add(self, surface: SurfaceDefinitions) -> dict[str, list[str]]:
        """Register definitions, all or none: a key already registered (or repeated) is refused."""
        self.check(surface)
        self._resources.update({r.uri: r for r in surface.resources})
        self._templates.update({t.uri_template: t for t in surface.templates})
        self._prompts.update({p.name: p for p in surface.prompts})
        added = {"resources": [r.uri for r in surface.resources],
                 "resource_templates": [t.uri_template for t in surface.templates],
                 "prompts": [p.name for p in surface.prompts]}
        self._changed(_kinds(surface), "added")
        return added

    def remove(self, *, resources: Iterable[str] = (), templates: Iterable[str] = (),
               prompts: Iterable[str] = ()) -> dict[str, list[str]]:
        """Unregister by key; unknown keys are ignored. Returns what was removed."""
        removed = {"resources": [u for u in resources if self._resources.pop(u, None) is not None],
                   "resource_templates": [t for t in templates if self._templates.pop(t, None) is not None],
                   "prompts": [n for n in prompts if self._prompts.pop(n, None) is not None]}
        kinds: set[ListKind] = set()
        if removed["resources"] or removed["resource_templates"]:
            kinds.add("resources")
        if removed["prompts"]:
            kinds.add("prompts")
        self._changed(kinds, "removed")
        return removed

    def replace_file(self, file: str, surface: SurfaceDefinitions) -> set[ListKind]:
        """Swap the definitions loaded from one file for a new set (a watched file changed): all or
        none. Returns the lists that changed."""
        def kept(items: dict) -> dict:
            return {k: v for k, v in items.items() if v.origin is None or v.origin.file != file}

        resources, templates, prompts = kept(self._resources), kept(self._templates), kept(self._prompts)
        self._check_new(surface, resources, templates, prompts)
        new_resources = {**resources, **{r.uri: r for r in surface.resources}}
        new_templates = {**templates, **{t.uri_template: t for t in surface.templates}}
        new_prompts = {**prompts, **{p.name: p for p in surface.prompts}}
        kinds: set[ListKind] = set()
        if new_resources != self._resources or new_templates != self._templates:
            kinds.add("resources")
        if new_prompts != self._prompts:
            kinds.add("prompts")
        self._resources, self._templates, self._prompts = new_resources, new_templates, new_prompts
        self._changed(kinds, f"reloaded {file}")
        return kinds

    @staticmethod
    def _check_new(surface: SurfaceDefinitions, resources: dict, templates: dict, prompts: dict) -> None:
        for items, registered, key, kind in ((surface.resources, resources, "uri", "resource"),
                                             (surface.templates, templates, "uri_template", "resource template"),
                                             (surface.prompts, prompts, "name", "prompt")):
            seen: dict[str, object] = {}
            for item in items:
                name = getattr(item, key)
                existing = registered.get(name) or seen.get(name)
                if existing is not None:
                    raise DuplicateDefinitionError(kind, name, existing.source, item.source)  # type: ignore[attr-defined]
                seen[name] = item

    def _changed(self, kinds: set[ListKind], what: str) -> None:
        if not kinds:
            return
        self._ordered_templates = sorted(self._templates.values(), key=_specificity)
        self.version += 1
        log.info("surface %s (now %d resources, %d resource templates, %d prompts)", what, len(self._resources),
                 len(self._templates), len(self._prompts))
        for listener in list(self._listeners):
            try:
                listener(set(kinds))
            except Exception:  # a listener must never break a catalog change
                log.exception("surface-change listener failed")


def _kinds(surface: SurfaceDefinitions) -> set[ListKind]:
    kinds: set[ListKind] = set()
    if surface.resources or surface.templates:
        kinds.add("resources")
    if surface.prompts:
        kinds.add("prompts")
    return kinds
