"""Text answers for tools that answer in text (no output schema): a confirmation ("Successfully
wrote to /notes/a.txt"), a listing ("[FILE] a.txt"), a thing's content, or its fields as lines."""

from __future__ import annotations

import json
import posixpath
import random
from typing import Any

from gtm_mcp.backends.schema import vocabulary as vocab
from gtm_mcp.backends.schema.meaning import Scene, iso
from gtm_mcp.backends.schema.operate import Effect
from gtm_mcp.backends.schema.plan import Plan
from gtm_mcp.backends.schema.rules import Rules, fill, snake
from gtm_mcp.backends.schema.world import Thing, looks_like_path

LABELS = ("title", "name", "message", "subject", "summary", "description", "label", "content", "text", "value")
MAX_TEXT = 200_000


def confirmation(plan: Plan, effect: Effect, rules: Rules, key: str | None) -> str:
    """The sentence a successful create/write/update/delete/move/send call answers with."""
    op = effect.op or plan.op
    verb = plan.verb or {"create": "create", "write": "write", "update": "update", "delete": "delete",
                         "send": "send"}.get(op, op)
    keys = [k for k, _ in effect.things] or effect.removed or ([key] if key else [])
    many = (plan.items or plan.keys) and len(keys) != 1
    template = rules.texts.get(f"{op}_many" if many else op) or rules.texts.get(op) or "Successfully {past} {what}"
    noun = plan.display
    shown_key = key or (keys[0] if keys else "")
    what = shown_key if (plan.verb and plan.verb == plan.noun_word) or noun == "item" else f"{noun} {shown_key}"
    nouns = plan.displays
    suffix = ""
    if effect.pending:  # a thing created without a key of its own: say what it holds
        shown = [f"{k}: {v}" for k, v in effect.pending.items() if isinstance(v, str | int | float)
                 and not isinstance(v, bool) and len(str(v)) <= 60][:3]
        suffix = f" ({', '.join(shown)})" if shown else ""
    return fill(template, key=shown_key, keys=", ".join(str(k) for k in keys[:20]), noun=noun, nouns=nouns,
                           Noun=noun[:1].upper() + noun[1:], Nouns=nouns[:1].upper() + nouns[1:],
                           what=what.strip(), past=rules.past_of(verb), count=len(keys),
                           source=effect.source or "", destination=effect.destination or "") + suffix


def message(plan: Plan, effect: Effect, rules: Rules) -> str:
    """A short status message for a `message` field: "Entities deleted successfully"."""
    op = effect.op or plan.op
    if op not in ("create", "write", "update", "delete", "move", "copy", "send"):
        return ""
    verb = plan.verb or op
    template = rules.texts.get("message") or "{Nouns} {past} successfully"
    nouns = plan.displays
    return fill(template, Nouns=nouns[:1].upper() + nouns[1:], nouns=nouns, noun=plan.display,
                past=rules.past_of(verb), Noun=plan.display.title())


def lines(value: Any, depth: int = 0) -> list[str]:
    """A JSON value as readable `field: value` lines."""
    pad = "  " * depth
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if isinstance(v, dict | list) and v and depth < 3 and not _scalars(v):
                out.append(f"{pad}{k}:")
                out += lines(v, depth + 1)
            else:
                out.append(f"{pad}{k}: {_scalar_text(v)}")
        return out
    if isinstance(value, list):
        out = []
        for item in value[:50]:
            block = lines(item, depth + 1)
            if block:
                out.append(f"{pad}- {block[0].strip()}")
                out += block[1:]
        return out
    return [f"{pad}{_scalar_text(value)}"]


def _scalars(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, dict | list) for v in value)


def _scalar_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_scalar_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def entry(key: str, thing: Thing) -> str:
    """A listed thing: one line (its key and label) when that says all it holds, else its key and
    its fields as indented lines."""
    fields = {k: v for k, v in (thing.get("fields") or {}).items() if v != key}
    flat = len(fields) <= 1 and not any(isinstance(v, dict | list) for v in fields.values())
    if key.startswith("{") or looks_like_path(key) or flat:
        return label(key, thing)
    return "\n".join([key, *lines(fields, 1)])


def label(key: str, thing: Thing) -> str:
    """One line for a listed thing: its key and, when it has one, its title/name/message."""
    fields = thing.get("fields") or {}
    if looks_like_path(key):
        return key + ("/" if thing.get("dir") else "")
    for name in LABELS:
        value = fields.get(name)
        if isinstance(value, str) and value and value != key:
            first = value.strip().splitlines()[0] if value.strip() else value
            return f"{key} - {first[:80]}"
    return key


def invent_content(key: str, noun: str, rng: random.Random) -> str:
    """Plausible content for a file (or document) nobody wrote, in an open world."""
    stem, ext = posixpath.splitext(posixpath.basename(key) or key)
    title = stem.replace("_", " ").replace("-", " ").strip().title() or noun.title()
    ext = ext.lower()
    if ext == ".json":
        return json.dumps({"name": stem, "version": f"1.{rng.randint(0, 9)}.0", "items": []}, indent=2) + "\n"
    if ext in (".md", ".markdown"):
        return f"# {title}\n\n- {rng.choice(vocab.WORDS)}\n- {rng.choice(vocab.WORDS)}\n"
    if ext == ".py":
        return f'"""{title}."""\n\n\ndef main() -> None:\n    print("{stem}")\n'
    if ext == ".csv":
        return "id,name,value\n" + "".join(f"{i},{rng.choice(vocab.WORDS)},{rng.randint(1, 99)}\n" for i in range(1, 4))
    if ext in (".yaml", ".yml"):
        return f"name: {stem}\nenabled: true\n"
    if ext in (".html", ".htm"):
        return f"<!doctype html>\n<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>\n"
    return f"{title}\n{rng.choice(vocab.WORDS)} {rng.choice(vocab.WORDS)}\n"


def _head_tail(content: str, arguments: dict[str, Any]) -> str:
    head = next((v for k, v in arguments.items() if snake(k) in ("head", "first_lines", "max_lines")), None)
    tail = next((v for k, v in arguments.items() if snake(k) in ("tail", "last_lines")), None)
    if isinstance(head, int | float) and not isinstance(head, bool) and head >= 0:
        return "\n".join(content.splitlines()[: int(head)])
    if isinstance(tail, int | float) and not isinstance(tail, bool) and tail > 0:
        return "\n".join(content.splitlines()[-int(tail):])
    return content


def metadata(key: str, thing: Thing, scene: Scene) -> str:
    """Metadata lines of a thing (size, times, type) as file-info tools report them."""
    from datetime import UTC, datetime

    content = thing["fields"].get("content")
    size = len(content.encode("utf-8")) if isinstance(content, str) else (4096 if thing.get("dir") else 0)
    created = iso(datetime.fromtimestamp(thing["t"], UTC))
    modified = iso(datetime.fromtimestamp(thing["m"], UTC))
    directory = bool(thing.get("dir"))
    out = [f"size: {size}", f"created: {created}", f"modified: {modified}", f"accessed: {iso(scene.now)}"]
    if looks_like_path(key):
        out += [f"isDirectory: {str(directory).lower()}", f"isFile: {str(not directory).lower()}",
                f"permissions: {'755' if directory else '644'}"]
    else:
        out += [f"{k}: {_scalar_text(v)}" for k, v in thing["fields"].items() if k != "content"]
    return "\n".join(out)


def read_text(key: str, thing: Thing, plan: Plan, scene: Scene, arguments: dict[str, Any],
              directory: list[tuple[str, bool]] | None = None) -> str:
    if plan.stat:
        return metadata(key, thing, scene)
    content = thing["fields"].get("content")
    if isinstance(content, str):
        return _head_tail(content, arguments)
    if thing.get("dir") and directory is not None:
        return listing_text(directory)
    fields = dict(thing["fields"])
    head = [] if key in fields.values() else [f"{plan.noun}: {key}"]
    return "\n".join(head + lines(fields))


def listing_text(entries: list[tuple[str, bool]], sizes: dict[str, int] | None = None) -> str:
    out = []
    for name, is_dir in entries:
        if sizes is not None and not is_dir:
            out.append(f"[FILE] {name:<30} {sizes.get(name, 0):>10} B")
        else:
            out.append(f"[{'DIR' if is_dir else 'FILE'}] {name}")
    return "\n".join(out)


_LEADING = ("shows", "show", "returns", "return", "gets", "get", "retrieves", "retrieve", "lists", "list", "fetches",
            "fetch", "provides", "provide", "displays", "display", "reports", "report", "the", "a", "an")


def heading(tool: Any) -> str:
    """A first line from the tool's description ("Shows the working tree status" → "Working tree
    status:"), or from its name."""
    first = (tool.description or "").strip().split("\n")[0].split(". ")[0].rstrip(".:")[:100]
    parts = first.split()
    while parts and parts[0].lower() in _LEADING:
        parts = parts[1:]
    text = " ".join(parts) or " ".join(vocab.words(tool.name)) or tool.name
    return text[:1].upper() + text[1:] + ":"


def cap(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n[truncated]"
