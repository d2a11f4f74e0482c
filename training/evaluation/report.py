"""Writing an evaluation: `table.md` (the paper's Table 1 and the fidelity table), `table.csv`,
`fidelity.csv`, `bars.png`, `samples.jsonl` (one line per scored call) and `summary.json`."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from training.evaluation.samples import Sample
from training.evaluation.scoring import FIDELITY_COLUMNS, PAPER_COLUMNS

PAPER_HEADERS = {"format": "Format", "logic": "Logic", "sem": "Sem", "comp": "Comp", "cons": "Cons", "all": "All",
                 "det": "Det", "help": "Help"}
KIND_HEADERS = {"single": "Single-turn", "multi": "Multi-turn", "error": "Error"}
FIDELITY_HEADERS = {"is_error_agree": "isError agree", "shape_agree": "Shape agree", "keys": "Keys",
                    "types": "Types", "exact": "Exact", "near": "Near", "consistency": "Consistency checks",
                    "consistent_episodes": "Consistent episodes"}


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def paper_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one row per simulator and split; columns grouped as in the paper's Table 1."""
    header = ["Simulator", "Split"]
    keys: list[str] = []
    for kind, columns in PAPER_COLUMNS.items():
        for column in (*columns, "all"):
            header.append(f"{KIND_HEADERS[kind]} {PAPER_HEADERS[column]}" if column == columns[0]
                          else PAPER_HEADERS[column])
            keys.append(f"{kind}_{column}")
    header.append("Avg")
    keys.append("avg")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join([row["label"], row["split"], *(_cell(row.get(k)) for k in keys)]) + " |")
    counts = ", ".join(f"{r['label']}/{r['split']}: {r['single_n']} single, {r['multi_n']} multi, "
                       f"{r['error_n']} error" for r in rows)
    return "\n".join(lines) + f"\n\nSamples: {counts}.\n"


def fidelity_table(rows: list[dict[str, Any]]) -> str:
    keys = [*FIDELITY_COLUMNS, "consistency", "consistent_episodes"]
    header = ["Simulator", "Split", "Calls", *(FIDELITY_HEADERS[k] for k in keys), "Checks", "Simulator failures",
              "s/call (median)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["label"], row["split"], str(row["calls"]), *(_cell(row.get(k)) for k in keys),
                 str(row["consistency_checks"]), str(row["simulator_failures"]),
                 "–" if row.get("s_per_call") is None else f"{row['s_per_call']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def sample_record(label: str, sample: Sample) -> dict[str, Any]:
    return {"simulator": label, "split": sample.split, "episode": sample.episode.id, "index": sample.index,
            "kind": sample.kind, "tool": sample.call.tool, "arguments": sample.call.arguments,
            "reference": sample.reference.to_json(),
            "observed": sample.observed.to_json() if sample.observed else None,
            "latency_s": round(sample.latency_s, 3) if sample.latency_s is not None else None,
            "metrics": sample.metrics, "judge": sample.judge}


def write_report(out: Path, paper_rows: list[dict[str, Any]], fidelity_rows: list[dict[str, Any]],
                 samples: dict[str, list[Sample]], summary: dict[str, Any]) -> dict[str, Path]:
    from training.plots import bar_chart

    out.mkdir(parents=True, exist_ok=True)
    judged = summary.get("judge") is not None
    note = ("Logic, Sem, Cons and Help by the judge " + f"`{summary['judge']['model']}` ({summary['judge']['rubric']})"
            if judged else "no judge: Logic, Sem, Cons, Help, All and Avg are not measured")
    markdown = ["# Simulator evaluation", "",
                "Every call was made through a running gtm-mcp server with the official MCP client, one session "
                f"per episode. Percentages. {note}.", "", "## The paper's metrics (Table 1)", "",
                paper_table(paper_rows), "## Reference-based fidelity (against what the real tool returned)", "",
                fidelity_table(fidelity_rows)]
    paths = {"table.md": out / "table.md", "table.csv": out / "table.csv", "fidelity.csv": out / "fidelity.csv",
             "bars.png": out / "bars.png", "samples.jsonl": out / "samples.jsonl", "summary.json": out / "summary.json"}
    paths["table.md"].write_text("\n".join(markdown))
    _write_csv(paths["table.csv"], paper_rows)
    _write_csv(paths["fidelity.csv"], fidelity_rows)
    with paths["samples.jsonl"].open("w") as f:
        for label, items in samples.items():
            for sample in items:
                f.write(json.dumps(sample_record(label, sample), ensure_ascii=False, default=str) + "\n")
    chart_rows = []
    for paper, fidelity in zip(paper_rows, fidelity_rows, strict=True):
        chart_rows.append({"label": f"{paper['label']} ({paper['split']})",
                           "Single All": paper["single_all"], "Multi All": paper["multi_all"],
                           "Error All": paper["error_all"], "Avg": paper["avg"],
                           "Single Format": paper["single_format"], "Single Comp": paper["single_comp"],
                           "Error Det": paper["error_det"], "isError agree": fidelity["is_error_agree"],
                           "Shape agree": fidelity["shape_agree"], "Near": fidelity["near"],
                           "Consistency": fidelity["consistency"]})
    columns = ["Single All", "Multi All", "Error All", "Avg"] if judged else []
    columns += ["Single Format", "Single Comp", "Error Det", "isError agree", "Shape agree", "Near", "Consistency"]
    bar_chart(chart_rows, columns, paths["bars.png"], title="gtm-eval: simulators compared (%)")
    paths["summary.json"].write_text(json.dumps({**summary, "paper": paper_rows, "fidelity": fidelity_rows},
                                                indent=2, default=str))
    return paths
