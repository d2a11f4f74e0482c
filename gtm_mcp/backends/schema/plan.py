"""What a tool does to the session world, read once from its name and input schema (by the rules):
the operation (create, read, list, delete, move, ...), the kind of thing, and which arguments
identify it, say where to look, or what to look for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gtm_mcp.backends.schema.rules import Rules, snake
from gtm_mcp.backends.schema.vocabulary import singular, words
from gtm_mcp.contract.definition import ToolDefinition

PREPOSITIONS = {"by", "with", "for", "from", "in", "of", "to", "on", "at", "into", "as", "via", "using", "per"}
CLOCK_NOUNS = {"time", "date", "datetime", "timezone", "clock", "now", "timestamp"}
#: Words of an argument name that say "this identifies" rather than what it identifies.
KEY_WORDS = {"id", "ids", "uuid", "guid", "uid", "key", "keys", "name", "names", "path", "paths", "slug", "handle",
             "identifier",
             "title", "url", "urls", "uri", "file", "files", "filename", "filenames", "filepath", "email", "login"}
SCALARS = ("string", "integer", "number")


@dataclass(frozen=True)
class Plan:
    op: str  # create, write, update, read, list, search, delete, move, copy, count, send, clock, other
    verb: str  # the word of the name that gave the operation ("" when none did)
    noun: str  # the kind of thing, singular (after the rules' noun aliases)
    noun_word: str = ""  # the noun as the name has it
    key: str | None = None  # a scalar argument that identifies the thing
    keys: str | None = None  # an array argument of identifying values
    items: str | None = None  # an array argument of objects, one thing each
    item_key: str | None = None  # the field of those objects that identifies each
    item_ref: bool = False  # the objects name other, existing things (add_observations(entityName=...))
    source: str | None = None
    destination: str | None = None
    container: str | None = None  # list/search: where to look
    query: str | None = None  # search: what to look for
    sets: dict[str, Any] = field(default_factory=dict)  # fields the verb sets (cancel → status)
    wrapper: str | None = None  # the output schema is {wrapper: string}: a text answer in one field
    path_args: frozenset[str] = frozenset()  # arguments holding file-system paths
    scope_args: frozenset[str] = frozenset()  # arguments saying where (never stored as fields)
    stat: bool = False  # the tool reports metadata (get_file_info)
    newest_first: bool = False  # its listings show the newest things first (a log, a history)

    @property
    def is_path(self) -> bool:
        return self.key in self.path_args if self.key else False

    @property
    def nouns(self) -> str:
        return plural(self.noun)

    @property
    def display(self) -> str:
        """The noun as the tool's name says it (`directory`, where the kind is `file`)."""
        return singular(self.noun_word) if self.noun_word and self.noun_word != self.verb else self.noun

    @property
    def displays(self) -> str:
        return plural(self.display)


def plural(noun: str) -> str:
    if noun.endswith("y") and len(noun) > 2 and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def _property_type(schema: Any) -> str | None:
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None:
        for option in schema.get("anyOf") or schema.get("oneOf") or []:
            found = _property_type(option)
            if found and found != "null":
                return found
    return kind if isinstance(kind, str) else None


def _name_words(tool: ToolDefinition) -> list[str]:
    name = tool.name.split("__", 1)[1] if "__" in tool.name else tool.name
    return words(name)


def _noun_of(name_words: list[str], start: int, rules: Rules) -> str:
    found = ""
    for word in name_words[start:]:
        if word in PREPOSITIONS:
            break
        if word not in rules.stop_words and (start > 0 or word not in rules.verbs) and not word.isdigit():
            found = word
    return found


def _wrapper(schema: dict[str, Any] | None, rules: Rules) -> str | None:
    if not isinstance(schema, dict) or schema.get("type") not in ("object", None):
        return None
    props = schema.get("properties") or {}
    if len(props) != 1:
        return None
    (name, sub), = props.items()
    if not isinstance(sub, dict) or _property_type(sub) != "string" or "enum" in sub or "const" in sub \
            or "format" in sub or "pattern" in sub:
        return None
    return name if rules.matches(rules.wrappers, snake(name)) else None


def make_plan(tool: ToolDefinition, rules: Rules) -> Plan:
    name_words = _name_words(tool)
    verb, op, at = "", "", -1
    for i, word in enumerate(name_words):
        if word in rules.verbs:
            verb, op, at = word, rules.verbs[word], i
            break
    noun_word = _noun_of(name_words, at + 1, rules) if at >= 0 else ""
    if not noun_word and verb in rules.nouns:
        noun_word = verb
    if not noun_word and at < 0:
        noun_word = _noun_of(name_words, 0, rules)
    props: dict[str, Any] = (tool.input_schema or {}).get("properties") or {}
    if not isinstance(props, dict):
        props = {}
    path_args = frozenset(n for n in props if rules.is_path(n))
    scope_args = frozenset(n for n in props if rules.matches(rules.scopes, snake(n)))
    # Candidates among the arguments.
    scalar_keys: list[tuple[tuple[int, int, int], str]] = []
    array_keys: list[tuple[tuple[int, int, int], str]] = []
    object_arrays: list[str] = []
    source = destination = container = query = None
    for name, schema in props.items():
        s = snake(name)
        kind = _property_type(schema)
        if name in scope_args:
            continue
        if rules.matches(rules.sources, s) and kind in SCALARS and source is None:
            source = name
        if rules.matches(rules.destinations, s) and kind in SCALARS and destination is None:
            destination = name
        if rules.matches(rules.containers, s) and kind in SCALARS and container is None:
            container = name
        if rules.matches(rules.queries, s) and kind in SCALARS and query is None:
            query = name
        rank = rules.key_rank(name)
        if kind == "array":
            items = schema.get("items") if isinstance(schema, dict) else None
            item_type = _property_type(items)
            if item_type == "object" or (isinstance(items, dict) and "properties" in items):
                object_arrays.append(name)
            elif rank is not None and item_type in (*SCALARS, None):
                array_keys.append((_order(name, rank, noun_word, rules), name))
        elif rank is not None and kind in (*SCALARS, None):
            scalar_keys.append((_order(name, rank, noun_word, rules), name))
    scalar_keys.sort()
    array_keys.sort()
    if not noun_word:
        for _, name in [*scalar_keys, *array_keys]:
            rest = [w for w in snake(name).split("_") if w not in KEY_WORDS]
            if rest:
                noun_word = rest[-1]
                break
    if not noun_word:
        for name in object_arrays:
            noun_word = snake(name).split("_")[-1]
            break
    if not noun_word and at > 0:  # trial_getter: the noun comes before the verb
        noun_word = _noun_of(name_words[:at], 0, rules)
    if not noun_word and any(n in path_args for _, n in [*scalar_keys, *array_keys]):
        noun_word = "file"
    noun = singular(noun_word) if noun_word else "item"
    is_plural = bool(noun_word) and noun != noun_word
    noun = rules.nouns.get(noun, noun)
    # The operation, where the name left it open.
    if noun in CLOCK_NOUNS and op in ("", "read", "other"):
        op = "clock"
    if op in ("move", "copy") and not (source and destination and source != destination):
        op = "update" if op == "move" else "create"
    if not op:
        if scalar_keys:
            op = "read"
        elif is_plural or noun_word in rules.collections:
            op = "list"
        else:
            op = "other"
    if op in ("read", "other") and noun_word in rules.collections:
        op = "list"
    if op == "read" and not scalar_keys and not array_keys and (is_plural or noun_word in rules.collections
                                                                  or any(w in rules.collections for w in name_words)):
        op = "list"
    plan: dict[str, Any] = {}
    if op in ("list", "search", "count"):
        if container is None:
            container = next((n for n in path_args if n != query and n not in scope_args), None)
        if op != "search":
            query = None
    else:
        container = None if op not in ("move", "copy") else container
        query = None
    if op in ("move", "copy"):
        plan.update(source=source, destination=destination)
    elif op not in ("list", "search", "count", "clock"):
        items_arg = next((n for n in object_arrays if noun in singular(snake(n)).split("_") or
                          rules.nouns.get(singular(snake(n).split("_")[-1])) == noun), None)
        if items_arg is None and len(object_arrays) == 1 and not scalar_keys:
            items_arg = object_arrays[0]
        if items_arg is not None:
            plan.update(items=items_arg, **_item_key(props[items_arg], noun, rules))
        elif scalar_keys:
            plan["key"] = scalar_keys[0][1]
        elif array_keys:
            plan["keys"] = array_keys[0][1]
    return Plan(op=op, verb=verb, noun=noun, noun_word=noun_word, container=container, query=query,
                sets=dict(rules.verb_sets.get(verb, {})), wrapper=_wrapper(tool.output_schema, rules),
                path_args=path_args,
                scope_args=scope_args, stat=bool({"info", "stat", "stats", "metadata"} & set(name_words)),
                newest_first=bool(rules.newest_first & set(name_words)), **plan)


def _order(name: str, rank: int, noun_word: str, rules: Rules) -> tuple[int, int, int]:
    """Sort order of an identifying argument: naming the tool's noun first, then not a reference
    to another thing (`base_branch`), then the rules' rank."""
    s = snake(name)
    parts = s.split("_")
    names_noun = bool(noun_word) and (singular(noun_word) in {singular(p) for p in parts})
    return (0 if names_noun else 1, 1 if rules.matches(rules.references, s) else 0, rank)


def _item_key(schema: Any, noun: str, rules: Rules) -> dict[str, Any]:
    items = schema.get("items") if isinstance(schema, dict) else None
    props = (items or {}).get("properties") or {} if isinstance(items, dict) else {}
    best: tuple[int, str] | None = None
    for name, sub in props.items():
        rank = rules.key_rank(name)
        if rank is not None and _property_type(sub) in (*SCALARS, None) and (best is None or rank < best[0]):
            best = (rank, name)
    if best is None:
        return {"item_key": None, "item_ref": False}
    rest = [w for w in snake(best[1]).split("_") if w not in KEY_WORDS]
    ref = bool(rest) and singular(rest[-1]) != noun and rules.nouns.get(singular(rest[-1])) != noun
    return {"item_key": best[1], "item_ref": ref}
