"""Reference-based fidelity: how close the simulator's answers are to what the real tool did, with no
judge. Scored on recorded real traffic (the export's held-out episodes), call by call and over whole
episodes:

- **isError agreement**: the simulator refuses exactly when the real tool refused.
- **shape**: the same kind of answer (error, JSON, text); for JSON answers, the same keys (Jaccard
  of the flattened key paths) and the same JSON types at the paths both have.
- **values**: of the real answer's leaf values, the share the simulator reproduced exactly, and the
  share it reproduced nearly (numbers within 10 %, strings with a similarity of at least 0.8); for
  text answers, the whole text.
- **consistency** (episode level), checks derived from what the real tool did:
  - *read after write*: a value the agent wrote in an earlier call's arguments that the real tool
    later returned (and that the current call does not itself name) must come back;
  - *returned ids come back*: a value the real tool returned earlier and returned again later must
    come back as the simulator returned it earlier: its own value at the same place (its own id for
    the real one), or the real value if it returned that; a value the simulator never returned is
    not asked for (it could not know it);
  - *deleted things are gone*: a value the real tool returned earlier, that a later call acted on
    (it is in that call's arguments), and that the real tool no longer returns, must be absent.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from typing import Any

from training.evaluation.samples import Outcome, Sample

NEAR_STRING = 0.8
NEAR_NUMBER = 0.10
#: texts are compared on their first characters only (difflib is quadratic)
TEXT_CAP = 4000


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Leaf values by JSON path (`/items/0/id`); empty containers are leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(flatten(sub, f"{path}/{key}"))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, sub in enumerate(value):
            out.update(flatten(sub, f"{path}/{i}"))
        return out
    return {path or "/": value}


def key_paths(value: Any, path: str = "") -> set[str]:
    """Key paths with array indices collapsed (`/items/*/id`): the shape, not the length."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            here = f"{path}/{key}"
            paths.add(here)
            paths |= key_paths(sub, here)
    elif isinstance(value, list):
        for sub in value:
            paths |= key_paths(sub, f"{path}/*")
    return paths


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "other")


def types_by_path(value: Any, path: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for key, sub in value.items():
            here = f"{path}/{key}"
            out[here] = json_type(sub)
            out.update(types_by_path(sub, here))
    elif isinstance(value, list):
        for sub in value:
            for p, t in types_by_path(sub, f"{path}/*").items():
                out.setdefault(p, t)
    return out


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def similarity(a: str, b: str) -> float:
    a, b = normalise(a)[:TEXT_CAP], normalise(b)[:TEXT_CAP]
    if a == b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < NEAR_STRING or matcher.quick_ratio() < NEAR_STRING:
        return matcher.quick_ratio()
    return matcher.ratio()


def near(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if a == b:
            return True
        scale = max(abs(a), abs(b))
        return math.isfinite(scale) and abs(a - b) <= NEAR_NUMBER * scale
    if isinstance(a, str) and isinstance(b, str):
        return similarity(a, b) >= NEAR_STRING
    return a == b


@dataclass(frozen=True)
class CallFidelity:
    is_error_agree: bool
    shape_agree: bool
    keys: float | None  # Jaccard of key paths (both JSON); 0 when the reference is JSON and the answer is not
    types: float | None  # share of common key paths with the same JSON type
    exact: float
    near: float

    def as_dict(self) -> dict[str, Any]:
        return {"is_error_agree": self.is_error_agree, "shape_agree": self.shape_agree, "keys": self.keys,
                "types": self.types, "exact": self.exact, "near": self.near}


def call_fidelity(observed: Outcome, reference: Outcome) -> CallFidelity:
    shape_agree = observed.shape == reference.shape
    keys = types = None
    ref_json, obs_json = reference.json_value(), observed.json_value()
    if reference.shape == "json":
        if observed.shape == "json":
            ref_keys, obs_keys = key_paths(ref_json), key_paths(obs_json)
            union = ref_keys | obs_keys
            keys = len(ref_keys & obs_keys) / len(union) if union else 1.0
            ref_types, obs_types = types_by_path(ref_json), types_by_path(obs_json)
            common = set(ref_types) & set(obs_types)
            types = sum(ref_types[p] == obs_types[p] for p in common) / len(common) if common else (
                1.0 if not ref_types else 0.0)
        else:
            keys, types = 0.0, 0.0
    if reference.shape == "json" and observed.shape == "json":
        ref_leaves, obs_leaves = flatten(ref_json), flatten(obs_json)
        exact = sum(p in obs_leaves and obs_leaves[p] == v for p, v in ref_leaves.items()) / len(ref_leaves)
        nearly = sum(p in obs_leaves and near(obs_leaves[p], v) for p, v in ref_leaves.items()) / len(ref_leaves)
    elif shape_agree:  # both text, or both errors: the whole message
        exact = float(normalise(observed.text) == normalise(reference.text))
        nearly = float(similarity(observed.text, reference.text) >= NEAR_STRING)
    else:
        exact = nearly = 0.0
    return CallFidelity(observed.is_error == reference.is_error, shape_agree, keys, types, exact, nearly)


# -- episode-level consistency ------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One consistency expectation for one call, derived from the real episode."""

    index: int  # the call checked
    rule: str  # read_after_write | id_comes_back | deleted_is_gone
    expected: Any  # the value that must be present (or absent, for deleted_is_gone)
    source: int  # the earlier call the value comes from
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "expected": self.expected, "from_call": self.source, "passed": self.passed}


def _meaningful(value: Any, *, written: bool) -> bool:
    """Values worth tracking: specific enough that finding them again is no coincidence."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return abs(value) >= 100 or (isinstance(value, float) and not float(value).is_integer())
    if isinstance(value, str):
        text = value.strip()
        if len(text) < 3:
            return False
        return written or len(text) >= 8 or any(c.isdigit() for c in text)
    return False


def _atoms(value: Any) -> list[tuple[str, Any]]:
    """(path, leaf) pairs of a JSON value or the text of an answer."""
    if isinstance(value, dict | list):
        return [(p, v) for p, v in flatten(value).items()]
    return [("", value)] if isinstance(value, str) else []


def contains(outcome: Outcome, expected: Any) -> bool:
    """Whether an answer carries `expected`: as a leaf of its JSON, or within its text."""
    value = outcome.json_value()
    if value is not None:
        leaves = list(flatten(value).values())
        if any(leaf == expected for leaf in leaves):
            return True
        if isinstance(expected, str):
            return any(isinstance(leaf, str) and expected in leaf for leaf in leaves)
        return False
    needle = expected if isinstance(expected, str) else json.dumps(expected)
    return needle in outcome.text


def _argument_atoms(arguments: dict[str, Any]) -> list[Any]:
    return [v for _, v in _atoms(arguments)] if arguments else []


def _in_arguments(arguments: dict[str, Any], value: Any) -> bool:
    for atom in _argument_atoms(arguments):
        if atom == value or (isinstance(value, str) and isinstance(atom, str) and value in atom):
            return True
    return False


def _established(observed: Outcome | None, path: str, real: Any) -> Any | None:
    """The value the simulator itself returned for the real tool's `real` at `path` in the same
    earlier call: its own value at that place (its own id for the real one), else the real value
    when its answer carried it anywhere; None when it never established that value (consistency
    cannot then ask for it)."""
    if observed is None or observed.is_error:
        return None
    value = observed.json_value()
    if value is not None and path:
        mine = flatten(value).get(path)
        if mine is not None and json_type(mine) == json_type(real) and _meaningful(mine, written=False):
            return mine
    return real if contains(observed, real) else None


def _answer(outcome: Outcome) -> Any:
    """An answer as JSON when it is JSON (structured, or JSON text), else its text."""
    value = outcome.json_value()
    return value if value is not None else outcome.text


def episode_checks(samples: list[Sample]) -> list[Check]:
    """Consistency checks for one episode's samples (each with `observed` set), in call order."""
    ordered = sorted(samples, key=lambda s: s.index)
    checks: list[Check] = []
    for position, sample in enumerate(ordered):
        if sample.observed is None or sample.call.is_error:
            continue
        earlier = [s for s in ordered[:position] if s.observed is not None]
        found: dict[tuple[str, str], Check] = {}
        for check in _carried(sample, earlier) + _gone(sample, earlier):
            found.setdefault((check.rule, json.dumps(check.expected, ensure_ascii=False, default=str)), check)
        checks += found.values()
    return checks


def _carried(sample: Sample, earlier: list[Sample]) -> list[Check]:
    """read_after_write and id_comes_back checks for `sample` (see the module doc)."""
    reference, observed = sample.reference, sample.observed
    assert observed is not None
    arguments = sample.call.arguments
    checks = []
    for prior in earlier:
        for written in _argument_atoms(prior.call.arguments):
            if (_meaningful(written, written=True) and not _in_arguments(arguments, written)
                    and contains(reference, written)):
                checks.append(Check(sample.index, "read_after_write", written, prior.index,
                                    contains(observed, written)))
        if prior.call.is_error:
            continue
        for path, value in _atoms(_answer(prior.reference)):
            if (_meaningful(value, written=False) and not _in_arguments(arguments, value)
                    and not _in_arguments(prior.call.arguments, value) and contains(reference, value)):
                expected = _established(prior.observed, path, value)
                if expected is not None:
                    checks.append(Check(sample.index, "id_comes_back", expected, prior.index,
                                        contains(observed, expected)))
    return checks


def _gone(sample: Sample, earlier: list[Sample]) -> list[Check]:
    """Values an earlier call of the same tool returned, that a call in between acted on, and that
    the real tool no longer returns."""
    observed = sample.observed
    assert observed is not None
    checks = []
    for i, prior in enumerate(earlier):
        if prior.call.tool != sample.call.tool or prior.call.is_error:
            continue
        between = earlier[i + 1:]
        for path, value in _atoms(_answer(prior.reference)):
            if not _meaningful(value, written=False) or contains(sample.reference, value):
                continue
            actor = next((b for b in between if not b.call.is_error and _in_arguments(b.call.arguments, value)), None)
            if actor is None:
                continue
            expected = _established(prior.observed, path, value)
            if expected is not None:
                checks.append(Check(sample.index, "deleted_is_gone", expected, actor.index,
                                    not contains(observed, expected)))
    return checks
