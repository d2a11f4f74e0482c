"""Stage 1: the field taxonomy. From seed fields, the teacher is shown random exemplar pairs and
asked for new fields until the target count; then subfields per field. Names within `merge_threshold`
cosine of a known name (embedded with the packaged MiniLM) are merged into it.

Writes `taxonomy.jsonl`: one line per field, `{"id", "field", "subfields", "origin"}`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio

from synthesis import prompts
from synthesis.config import TaxonomyConfig
from synthesis.jsonl import JsonlWriter, read_jsonl
from synthesis.seeding import derive, rng_for
from synthesis.stages.base import Run, StageFiles, bar, stage_stats, timed
from synthesis.teacher import Junk, TeacherUnavailable, json_object

_NAME = re.compile(r"^[\w&/,'() .-]{2,60}$")


def read_seed_fields(cfg: TaxonomyConfig) -> list[str]:
    fields = list(cfg.seed_fields)
    if cfg.seed_file:
        for line in Path(cfg.seed_file).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("{"):
                fields += list(json.loads(line))  # Seal-Tools field.jsonl: {"Field": [subfields]}
            else:
                fields.append(line)
    return list(dict.fromkeys(clean(f) for f in fields if clean(f)))


def clean(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    name = re.sub(r"^\s*(\d+[.)]|[-*•])\s*", "", name).strip().strip(".")
    return name if _NAME.match(name) else None


class NameSet:
    """Names with their embeddings; a new name too close to a known one is merged into it."""

    def __init__(self, run: Run, threshold: float) -> None:
        self.run, self.threshold = run, threshold
        self.names: list[str] = []
        self.vectors: Any = None
        self.merged: dict[str, str] = {}

    def add(self, candidates: list[str]) -> list[str]:
        import numpy as np

        added = []
        fresh = [c for c in dict.fromkeys(candidates) if c.lower() not in {n.lower() for n in self.names}]
        if not fresh:
            return added
        vectors = self.run.embedder.embed(fresh)
        for name, vector in zip(fresh, vectors, strict=True):
            if self.vectors is not None and len(self.names):
                sims = self.vectors @ vector
                best = int(np.argmax(sims))
                if sims[best] >= self.threshold:
                    self.merged[name] = self.names[best]
                    continue
            self.names.append(name)
            self.vectors = vector[None, :] if self.vectors is None else np.vstack([self.vectors, vector])
            added.append(name)
        return added


async def run_taxonomy(run: Run, cfg: TaxonomyConfig) -> dict[str, Any]:
    files = StageFiles(run, "taxonomy")
    teacher = run.teacher
    junk = {"fields": 0, "subfields": 0}
    async with timed() as clock:
        seeds = read_seed_fields(cfg)
        if not seeds:
            raise ValueError("taxonomy: give seed_fields or a seed_file")
        names = NameSet(run, cfg.merge_threshold)
        await anyio.to_thread.run_sync(names.add, seeds)
        rounds = 0
        with bar(cfg.target_fields, "taxonomy fields", run.progress) as progress:
            progress.update(min(len(names.names), cfg.target_fields))
            while len(names.names) < cfg.target_fields and rounds < cfg.max_rounds:
                # a batch of requests in flight; results merged in request order (same seed, same taxonomy)
                batch = min(run.config.teacher.concurrency, max(1, (cfg.target_fields - len(names.names))
                                                                // cfg.per_request + 1), cfg.max_rounds - rounds)
                known = list(names.names)
                replies: list[list[str]] = [[] for _ in range(batch)]

                async def ask(i: int, r: int, known: list[str] = known, replies: list = replies) -> None:
                    rng = rng_for(run.seed, "taxonomy-round", r)
                    examples = rng.sample(known, min(cfg.exemplars, len(known)))
                    try:
                        reply = await teacher.complete(prompts.new_fields(examples, cfg.per_request),
                                                       purpose="taxonomy", schema=prompts.FIELDS_SCHEMA,
                                                       schema_name="fields", seed=derive(run.seed, "taxonomy", r))
                        got = json_object(reply.text, truncated=reply.truncated, required=("fields",))["fields"]
                        replies[i] = [c for c in map(clean, got if isinstance(got, list) else []) if c]
                        if not replies[i]:
                            junk["fields"] += 1
                    except (Junk, TeacherUnavailable):
                        junk["fields"] += 1

                async with anyio.create_task_group() as tg:
                    for i in range(batch):
                        tg.start_soon(ask, i, rounds + i)
                rounds += batch
                before = len(names.names)
                for got in replies:
                    await anyio.to_thread.run_sync(names.add, got)
                progress.update(min(len(names.names), cfg.target_fields) - min(before, cfg.target_fields))
        fields = names.names[:cfg.target_fields]
        origin = {n: "seed" for n in seeds}
        done = {r["id"] for r in read_jsonl(files.accepted)}
        todo = [f for f in fields if f"field:{f}" not in done]
        results: dict[str, list[str]] = {}

        async def subs(field: str) -> None:
            if cfg.subfields_per_field == 0:
                results[field] = []
                return
            try:
                reply = await teacher.complete(prompts.subfields(field, cfg.subfields_per_field), purpose="taxonomy",
                                               schema=prompts.SUBFIELDS_SCHEMA, schema_name="subfields",
                                               seed=derive(run.seed, "subfields", field))
                got = json_object(reply.text, truncated=reply.truncated, required=("subfields",))["subfields"]
            except (Junk, TeacherUnavailable):
                junk["subfields"] += 1
                return
            local = NameSet(run, cfg.merge_threshold)
            cleaned = [c for c in map(clean, got if isinstance(got, list) else []) if c and c.lower() != field.lower()]
            results[field] = (await anyio.to_thread.run_sync(local.add, cleaned))[:cfg.subfields_per_field]
            if not results[field]:
                junk["subfields"] += 1

        with bar(len(todo), "taxonomy subfields", run.progress) as progress:
            limiter = anyio.Semaphore(run.config.teacher.concurrency)

            async def one(field: str) -> None:
                async with limiter:
                    await subs(field)
                progress.update(1)

            async with anyio.create_task_group() as tg:
                for field in todo:
                    tg.start_soon(one, field)
        with JsonlWriter(files.accepted) as out:
            for field in todo:  # in field order, whatever order the answers came in
                if field in results:
                    out.write({"id": f"field:{field}", "field": field, "subfields": results[field],
                               "origin": origin.get(field, "teacher")})
    lines = list(read_jsonl(files.accepted))
    return stage_stats(files, seconds=clock[0], check_of=lambda r: {}, extra={
        "fields": len(lines), "subfields": sum(len(r["subfields"]) for r in lines),
        "from_teacher": sum(r["origin"] == "teacher" for r in lines), "rounds": rounds,
        "merged_near_duplicates": len(names.merged), "merged_examples": dict(list(names.merged.items())[:20]),
        "junk": junk})
