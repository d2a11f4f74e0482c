"""Carrying out one call on the session world: what a plan's operation does to the things the
arguments name, and the refusals a real tool gives (not found, no match) when the world is closed."""

from __future__ import annotations

import copy
import posixpath
import random
import re
from dataclasses import dataclass, field
from typing import Any

from gtm_mcp.backends.schema.plan import Plan
from gtm_mcp.backends.schema.rules import Rules, fill, snake
from gtm_mcp.backends.schema.world import Thing, World, identify, looks_like_path, normalise_key

#: Arguments that cap how many things a listing shows.
LIMITS = {"limit", "max_count", "max_results", "top_k", "top_n", "n", "count", "page_size", "per_page", "max_items",
          "num_results", "k", "size", "max"}
#: Invented entries of a listed directory in an open world.
INVENTED_FILES = ("README.md", "notes.txt", "data.json", "report.csv", "main.py", "todo.md")
GLOB = set("*?[")


class Refusal(Exception):
    """The simulated tool refuses the call (the text is what the agent sees)."""


@dataclass
class Effect:
    """What an operation did, for the answer to report."""

    key: str | None = None  # the one thing the call is about
    thing: Thing | None = None
    things: list[tuple[str, Thing]] = field(default_factory=list)  # several: listed, created, read
    entries: list[tuple[str, bool]] | None = None  # a directory listing: (name, is a directory)
    listing: bool = False  # `things` is the answer of a list/search/count
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already there (a batch create leaves them)
    added: dict[str, list[Any]] = field(default_factory=dict)  # key → values appended (attach)
    source: str | None = None
    destination: str | None = None
    pending: dict[str, Any] | None = None  # a created thing whose key the answer hands out
    invented: bool = False  # open world: the thing was made up now; keep what the answer says
    invent_list: bool = False  # open world: nothing of this kind known; keep the listed things
    diff: str | None = None  # an edit's unified diff
    op: str = ""  # the operation carried out (a noun-only tool may list)


class Operator:
    """Applies a plan to a world. Raises Refusal for what a real tool refuses."""

    def __init__(self, plan: Plan, arguments: dict[str, Any], world: World, rules: Rules, rng: random.Random) -> None:
        self.plan, self.args, self.world, self.rules, self.rng = plan, arguments, world, rules, rng

    # -- helpers ---------------------------------------------------------------------------------

    def refuse(self, kind: str, key: Any = "", *, syscall: str = "open", value: Any = "", arg: str = "",
               noun: str = "") -> Refusal:
        noun = noun or self.plan.noun
        argument = snake(arg or self.plan.key or self.plan.keys or "").replace("_", " ")
        path = isinstance(key, str) and (looks_like_path(key) or self.rules.is_path(arg or self.plan.key or ""))
        subject = f"{noun} {argument} {'path' if path else ''}".strip()
        text = self.rules.error_text(kind, subject)
        return Refusal(fill(text, key=key, noun=noun, Noun=noun[:1].upper() + noun[1:], syscall=syscall, value=value))

    def stored_fields(self, exclude: set[str]) -> dict[str, Any]:
        """The arguments a thing keeps: all but where-arguments and the excluded ones."""
        return {k: copy.deepcopy(v) for k, v in self.args.items()
                if k not in exclude and k not in self.plan.scope_args and v is not None}

    def resolve(self, value: Any, *, path: bool) -> str | None:
        found = self.world.resolve(value, path=path)
        if found is None and isinstance(value, str) and value.strip() in self.rules.latest:
            found = self.world.newest(self.plan.noun)
        return found

    def _reference(self) -> bool:
        """Things of this kind exist outside the session (a web page, a price): made up on first
        read even in a closed world, unless the world holds things of that kind."""
        by_url = bool(self.plan.key) and "url" in self.rules.kinds_of(self.plan.key or "")[:1]
        return (self.plan.noun in self.rules.reference or by_url) and not self.plan.path_args & {self.plan.key} \
            and not self.world.things_of(self.plan.noun)

    def is_path(self, arg: str | None, value: Any) -> bool:
        return bool(arg and arg in self.plan.path_args) or (isinstance(value, str) and value.startswith("/"))

    # -- the operations --------------------------------------------------------------------------

    def run(self) -> Effect:
        op = self.plan.op
        if op == "other" and self.world.things_of(self.plan.noun):
            op = "list"  # `git_branch`: a noun the world holds, and no verb, lists them
        handler = getattr(self, f"op_{op}", None)
        effect = handler() if handler is not None else Effect()
        effect.op = op
        return effect

    def op_read(self) -> Effect:
        plan = self.plan
        if plan.key and self.args.get(plan.key) is not None:
            value = self.args[plan.key]
            path = self.is_path(plan.key, value)
            found = self.resolve(value, path=path)
            if found is not None:
                return Effect(key=found, thing=self.world.get(found))
            if (self.world.closed and not self._reference()) or self.world.is_gone(value, path=path):
                raise self.refuse("not_found", normalise_key(value, path=path),
                                  syscall="stat" if plan.stat else "open", arg=plan.key)
            key = normalise_key(value, path=path)
            thing = self.world.put(key, {plan.key: value}, plan.noun)
            return Effect(key=key, thing=thing, invented=True)
        values = None
        if plan.keys and isinstance(self.args.get(plan.keys), list):
            values = self.args[plan.keys][:100]
        elif plan.items and plan.item_key and isinstance(self.args.get(plan.items), list):
            values = [item.get(plan.item_key) for item in self.args[plan.items][:100]
                      if isinstance(item, dict) and item.get(plan.item_key) is not None]
        if values is not None:
            effect = Effect()
            for value in values:
                path = self.is_path(plan.keys or plan.item_key, value)
                found = self.resolve(value, path=path)
                if found is None and not self.world.closed and not self.world.is_gone(value, path=path):
                    found = normalise_key(value, path=path)
                    self.world.put(found, {"name" if not path else "path": value}, plan.noun)
                    effect.invented = True
                if found is not None:
                    effect.things.append((found, self.world.get(found) or {}))
                else:
                    effect.skipped.append(normalise_key(value, path=path))
            if len(effect.things) == 1:
                effect.key, effect.thing = effect.things[0]
            return effect
        return Effect()

    def op_create(self) -> Effect:
        plan = self.plan
        if plan.items and isinstance(self.args.get(plan.items), list):
            return self._items(attach=True)
        if plan.keys and isinstance(self.args.get(plan.keys), list):
            effect = Effect()
            for value in self.args[plan.keys][:100]:
                path = self.is_path(plan.keys, value)
                key = normalise_key(value, path=path)
                thing = self.world.get(key) or self.world.put(key, {snake(plan.keys).rstrip("s") or "key": value},
                                                              plan.noun)
                effect.things.append((key, thing))
            return effect
        if plan.key and self.args.get(plan.key) is not None:
            value = self.args[plan.key]
            path = self.is_path(plan.key, value)
            key = normalise_key(value, path=path)
            fields = {**self.stored_fields(set()), **plan.sets}
            if path:
                fields[plan.key] = key
            directory = plan.noun_word in ("directory", "folder", "dir") or plan.noun_word.endswith("directory")
            old = self.world.get(key)
            if old is not None and plan.op == "create":
                thing = self.world.change(key, fields)
            else:
                thing = self.world.put(key, fields, plan.noun, directory=directory)
            for name, other in self.args.items():  # create_project(name, path): found by either
                if name != plan.key and name not in plan.scope_args and isinstance(other, str | int) \
                        and not isinstance(other, bool) and self.rules.key_rank(name) is not None \
                        and not self.rules.matches(self.rules.references, snake(name)):
                    self.world.alias(other, key)
            return Effect(key=key, thing=thing)
        return Effect(pending={**self.stored_fields(set()), **plan.sets})

    op_write = op_create
    op_send = op_create

    def op_update(self) -> Effect:
        plan = self.plan
        if plan.items and isinstance(self.args.get(plan.items), list):
            return self._items(attach=True)
        if not (plan.key and self.args.get(plan.key) is not None):
            return Effect()
        value = self.args[plan.key]
        path = self.is_path(plan.key, value)
        found = self.resolve(value, path=path)
        if found is None:
            if self.world.closed or self.world.is_gone(value, path=path):
                raise self.refuse("not_found", normalise_key(value, path=path), arg=plan.key)
            found = normalise_key(value, path=path)
            self.world.put(found, {plan.key: value}, plan.noun)
        thing = self.world.get(found) or {"fields": {}}
        pair_args = {a for pair in self.rules.replace_pairs for a in pair} | {"dry_run", "preview", "edits"}
        changes = {}
        for name, value in self.stored_fields({plan.key}).items():
            if snake(name) in pair_args:
                continue
            if not isinstance(value, list | dict) or name in thing["fields"]:
                changes[name] = value
        edits = self._edits()
        effect = Effect(key=found)
        if edits:
            before = thing["fields"].get("content")
            if not isinstance(before, str):
                # Content nobody wrote: a closed world has none; an open one had what the edit names.
                before = "" if self.world.closed else "\n".join(old for old, _ in edits)
            after = before
            for old, new in edits:
                if old not in after:
                    raise self.refuse("no_match", found, value=old)
                after = after.replace(old, new, 1)
            effect.diff = unified_diff(found, before, after)
            dry = any(snake(k) in ("dry_run", "preview") and v is True for k, v in self.args.items())
            if not dry:
                changes["content"] = after
        effect.thing = self.world.change(found, {**changes, **plan.sets})
        return effect

    def op_delete(self) -> Effect:
        plan = self.plan
        if plan.items and isinstance(self.args.get(plan.items), list):
            return self._items(attach=False)
        effect = Effect()
        if plan.key and self.args.get(plan.key) is not None:
            value = self.args[plan.key]
            path = self.is_path(plan.key, value)
            found = self.resolve(value, path=path)
            if found is None:
                if self.world.closed or self.world.is_gone(value, path=path):
                    raise self.refuse("not_found", normalise_key(value, path=path), syscall="unlink", arg=plan.key)
                effect.key = normalise_key(value, path=path)
                return effect
            effect.key = found
            effect.removed = _named(self.world.remove(found), found)
            return effect
        if plan.keys and isinstance(self.args.get(plan.keys), list):
            for value in self.args[plan.keys][:100]:
                found = self.resolve(value, path=self.is_path(plan.keys, value))
                if found is not None:
                    effect.removed += _named(self.world.remove(found), found)
                else:
                    effect.skipped.append(normalise_key(value))
        return effect

    def op_move(self, keep_source: bool = False) -> Effect:
        plan = self.plan
        source_value, destination_value = self.args.get(plan.source or ""), self.args.get(plan.destination or "")
        if source_value is None or destination_value is None:
            return Effect()
        path = self.is_path(plan.source, source_value)
        source = self.resolve(source_value, path=path)
        if source is None:
            if self.world.closed or self.world.is_gone(source_value, path=path):
                raise self.refuse("not_found", normalise_key(source_value, path=path), syscall="rename",
                                  arg=plan.source or "")
            source = normalise_key(source_value, path=path)
            self.world.put(source, {plan.source or "key": source}, plan.noun)
        destination = normalise_key(destination_value, path=path)
        if path and "/" not in str(destination_value).strip("/") and "/" in source:
            destination = posixpath.join(posixpath.dirname(source), destination)  # rename(path, new_name)
        existing = self.world.get(destination)
        if existing is not None and existing.get("dir"):
            destination = posixpath.join(destination, posixpath.basename(source))
        self.world.move(source, destination, keep_source=keep_source)
        return Effect(key=destination, thing=self.world.get(destination), source=source, destination=destination)

    def op_copy(self) -> Effect:
        return self.op_move(keep_source=True)

    def op_list(self) -> Effect:
        plan = self.plan
        container = self.args.get(plan.container) if plan.container else None
        if isinstance(container, str) and container.strip() not in ("", "."):
            return self._directory(normalise_key(container, path=True))
        things = self._of_kind()
        effect = Effect(listing=True)
        if not things and not self.world.closed:
            effect.invent_list = True
        effect.things = self._limited(things)
        return effect

    def op_count(self) -> Effect:
        return self.op_list()

    def op_search(self) -> Effect:
        plan = self.plan
        query = self.args.get(plan.query) if plan.query else None
        container = self.args.get(plan.container) if plan.container else None
        prefix = normalise_key(container, path=True).rstrip("/") + "/" if isinstance(container, str) and \
            container.strip() not in ("", ".", "/") else None
        things = self._of_kind()
        if prefix is not None:
            things = [(k, t) for k, t in self.world.things.items() if k.startswith(prefix)]
        if isinstance(query, str) and query:
            things = [(k, t) for k, t in things if matches(query, k, t)]
        effect = Effect(listing=True, things=self._limited(things))
        if not self._of_kind() and not self.world.closed and prefix is None:
            effect.invent_list = True
        return effect

    # -- parts -----------------------------------------------------------------------------------

    def _of_kind(self) -> list[tuple[str, Thing]]:
        """Things of the plan's kind (all things when the world has none of it and the noun is vague),
        filtered by arguments that name their fields, newest first."""
        things = self.world.things_of(self.plan.noun)
        if self.plan.noun_word in self.rules.collections and self.plan.noun_word not in ("log", "history"):
            things = self.world.things_of(None)  # read_graph: everything the graph holds
        if not things and self.plan.noun in ("item", "record", "result", "entry", "object", "resource"):
            things = self.world.things_of(None)
        filters = {k: v for k, v in self.args.items() if isinstance(v, str | int | float | bool)
                   and k not in (self.plan.query, self.plan.container) and snake(k) not in LIMITS}
        if filters:
            things = [(k, t) for k, t in things
                      if all(t["fields"].get(f) == v for f, v in filters.items() if f in t["fields"])]
        return things if not self.plan.newest_first else list(reversed(things))

    def _limited(self, things: list[tuple[str, Thing]]) -> list[tuple[str, Thing]]:
        for name, value in self.args.items():
            if snake(name) in LIMITS and isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return things[:value]
        return things[:200]

    def _directory(self, directory: str) -> Effect:
        prefix = "/" if directory == "/" else directory + "/"
        children: dict[str, bool] = {}
        for key, thing in self.world.things.items():
            if key.startswith(prefix) and key != directory:
                rest = key[len(prefix):]
                name, _, below = rest.partition("/")
                if name:
                    children[name] = children.get(name, False) or bool(below) or bool(thing.get("dir"))
        known = self.world.get(directory)
        if not children and known is None and directory != "/":
            if self.world.closed or self.world.is_gone(directory, path=True):
                raise self.refuse("not_found", directory, syscall="scandir", arg=self.plan.container or "path")
            for name in self.rng.sample(INVENTED_FILES, 3):
                self.world.put(f"{prefix}{name}", {"path": f"{prefix}{name}"}, "file")
                children[name] = False
        things = [(prefix + name, self.world.get(prefix + name) or {"kind": "file", "fields": {}, "dir": True})
                  for name in sorted(children)]
        return Effect(listing=True, key=directory, thing=known, things=things,
                      entries=[(name, children[name]) for name in sorted(children)])

    def _edits(self) -> list[tuple[str, str]]:
        """(find, put) pairs of an edit call, top-level or in lists of edits."""
        pairs: list[tuple[str, str]] = []
        candidates = [self.args] + [item for value in self.args.values() if isinstance(value, list)
                                    for item in value[:100] if isinstance(item, dict)]
        for candidate in candidates:
            snaked = {snake(k): v for k, v in candidate.items()}
            for find, put in self.rules.replace_pairs:
                if isinstance(snaked.get(find), str) and isinstance(snaked.get(put), str):
                    pairs.append((snaked[find], snaked[put]))
                    break
        return pairs

    def _items(self, *, attach: bool) -> Effect:
        """A batch: one thing per object of the items argument (created, or attached to / detached
        from the existing things they name)."""
        plan = self.plan
        effect = Effect()
        items = [item for item in self.args[plan.items or ""][:200] if isinstance(item, dict)]
        if plan.item_ref and plan.item_key:
            targets = []
            for item in items:
                value = item.get(plan.item_key)
                found = self.resolve(value, path=False) if value is not None else None
                if found is None:
                    kind = _kind_of_ref(plan.item_key, self.rules)
                    if self.world.closed or self.world.is_gone(value):
                        raise self.refuse("not_found", normalise_key(value), arg=plan.item_key, noun=kind)
                    if not attach:
                        continue
                    found = normalise_key(value)
                    self.world.put(found, {plan.item_key: value}, kind)
                targets.append((found, item))
            for found, item in targets:
                thing = self.world.get(found)
                if thing is None:
                    continue
                changes, added = _attach(thing, item, plan, attach)
                self.world.change(found, changes)
                effect.added[found] = added
                effect.things.append((found, thing))
            return effect
        for item in items:
            key = identify({plan.item_key: item[plan.item_key]} if plan.item_key and plan.item_key in item else item,
                           self.rules)
            if not attach:
                found = self.resolve(key, path=False)
                if found is not None:
                    effect.removed += self.world.remove(found)
                else:
                    effect.skipped.append(key)
                continue
            if self.world.get(key) is not None and plan.op == "create":
                effect.skipped.append(key)
                continue
            effect.things.append((key, self.world.put(key, copy.deepcopy(item), plan.noun)))
        return effect


def _named(removed: list[str], key: str) -> list[str]:
    """What a delete removed by name (links that went with it are not named)."""
    return [k for k in removed if k == key or not k.startswith("{")]


def _kind_of_ref(field_name: str, rules: Rules) -> str:
    from gtm_mcp.backends.schema.plan import KEY_WORDS
    from gtm_mcp.backends.schema.vocabulary import singular

    rest = [w for w in snake(field_name).split("_") if w not in KEY_WORDS]
    noun = singular(rest[-1]) if rest else "item"
    return rules.nouns.get(noun, noun)


def _attach(thing: Thing, item: dict[str, Any], plan: Plan, attach: bool) -> tuple[dict[str, Any], list[Any]]:
    """Changes that add (or remove) the item's list values to (from) the thing's matching list."""
    fields = thing["fields"]
    changes: dict[str, Any] = {}
    touched: list[Any] = []
    for name, value in item.items():
        if name == plan.item_key:
            continue
        if isinstance(value, list):
            target = name if name in fields else (plan.nouns if plan.nouns in fields else None)
            if target is None:
                lists = [k for k, v in fields.items() if isinstance(v, list)]
                target = lists[0] if len(lists) == 1 else (plan.nouns if attach else None)
            if target is None:
                continue
            current = list(fields.get(target) or [])
            if attach:
                new = [v for v in value if v not in current]
                changes[target] = current + new
            else:
                new = [v for v in value if v in current]
                changes[target] = [v for v in current if v not in value]
            touched += new
        elif attach:
            changes[name] = value
    return changes, touched


def matches(query: str, key: str, thing: Thing) -> bool:
    """Whether a thing answers a search: a glob against its name or path, else the words of the
    query found in its key or any of its text."""
    if GLOB & set(query):
        from gtm_mcp.contract import patterns

        try:
            search = patterns.compiled(glob_pattern(query))
            return search(posixpath.basename(key)) or search(key)
        except ValueError:  # a glob no engine takes (or one too slow): compare as text
            pass
    needle = query.lower()
    if needle in key.lower():
        return True
    for value in thing["fields"].values():
        if isinstance(value, str) and needle in value.lower():
            return True
        if isinstance(value, list) and any(isinstance(v, str) and needle in v.lower() for v in value):
            return True
    return False


def glob_pattern(glob: str) -> str:
    """A glob as an anchored RE2 pattern (`**` any path, `*` within a name, `?` one character)."""
    out, i = [], 0
    glob = glob[:500]
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c))
        i += 1
    return "^" + "".join(out) + "$"


def unified_diff(path: str, before: str, after: str) -> str:
    import difflib

    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), f"{path}\toriginal", f"{path}\tmodified",
                                 lineterm="")
    return "```diff\nIndex: " + path + "\n" + "=" * 67 + "\n" + "\n".join(lines) + "\n```\n"
