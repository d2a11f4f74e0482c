"""The dataset card: counts per stage and source, pass rates per check, field coverage with a plot
of tools per field, the teacher and its settings. Written as `card.json` and `card.md`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def field_of(tool: dict[str, Any]) -> str:
    domains = tool.get("domains") or []
    if domains:
        return str(domains[0]).split("/")[0].strip() or "(none)"
    if tool.get("server"):
        return f"server: {tool['server']}"
    return "(none)"


def plot_tools_per_field(counts: dict[str, int], path: Path, top: int = 40) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.26 * len(items) + 1)))
    ax.barh([k[:48] for k, _ in reversed(items)], [v for _, v in reversed(items)], color="#4C72B0")
    ax.set_xlabel("tools")
    more = f" (top {top} of {len(counts)})" if len(counts) > top else ""
    ax.set_title(f"Tools per field{more}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(card: dict[str, Any]) -> str:
    lines = ["# GTM training data: dataset card", "", f"Prompt format: `{card['prompt_format']}`; episodes: "
             f"`{card['episode_format']}`; seed {card['seed']}.", "", "## Records", "",
             "| split | SFT records | episodes | tools | records by kind | recorded servers |",
             "|---|---:|---:|---:|---|---|"]
    for split, row in card["splits"].items():
        kinds = ", ".join(f"{k} {v}" for k, v in (row.get("by_kind") or {}).items())
        servers = ", ".join(row.get("servers") or [])
        lines.append(f"| {split} | {row['sft_records']} | {row['episodes']} | {row.get('tools', '')} | {kinds} | "
                     f"{servers} |")
    settings = card.get("settings") or {}
    lines += ["", "Splits are by tool: servers held out whole "
              f"`{json.dumps(settings.get('holdout_servers', {}))}` (all their tools and episodes), generated "
              f"tools by shares `{json.dumps(settings.get('shares', {}))}` (seed {card['seed']}), every other "
              "recorded tool in train; `heldout_episodes` holds held-out episodes of train tools only."]
    if settings.get("holdout_servers_missing"):
        lines.append(f"Held-out servers absent from the inputs: {', '.join(settings['holdout_servers_missing'])}.")
    lines += ["", "## SFT records by kind and source", "", "| source | kind | records | errors |",
              "|---|---|---:|---:|"]
    for source, row in sorted(card["by_source"].items()):
        lines.append(f"| {source} | {row['kind']} | {row['records']} | {row['errors']} |")
    if card.get("stages"):
        lines += ["", "## Stages", "", "| stage | accepted | rejected | pass rate | junk | seconds |",
                  "|---|---:|---:|---:|---:|---:|"]
        for stage, s in card["stages"].items():
            lines.append(f"| {stage} | {s.get('accepted', s.get('kept', ''))} | {s.get('rejected', '')} | "
                         f"{s.get('pass_rate', '')} | {s.get('junk', '')} | {s.get('seconds_total', '')} |")
        lines += ["", "Pass rates per check (samples the check ran on):", "",
                  "| stage | check | ran | passed | pass rate |", "|---|---|---:|---:|---:|"]
        for stage, s in card["stages"].items():
            for check, c in (s.get("checks") or {}).items():
                lines.append(f"| {stage} | {check} | {c['ran']} | {c['passed']} | {c['pass_rate']} |")
    if card.get("recorded"):
        lines += ["", "## Recorded real traffic", "", "| server | source | episodes | calls | error share | bytes |",
                  "|---|---|---:|---:|---:|---:|"]
        for server, s in card["recorded"].items():
            lines.append(f"| {server} | {s.get('source', '')} | {s.get('episodes', '')} | {s.get('calls', '')} | "
                         f"{s.get('error_share', '')} | {s.get('bytes', '')} |")
    lines += ["", "## Field coverage", "", f"{card['fields']['count']} fields; tools per field: "
              "`tools_per_field.png`.", "", "| field | tools | SFT records |", "|---|---:|---:|"]
    for name, row in list(card["fields"]["by_field"].items())[:30]:
        lines.append(f"| {name} | {row['tools']} | {row['records']} |")
    if card.get("teacher"):
        lines += ["", "## Teacher", "", "```json", json.dumps(card["teacher"], indent=2), "```"]
    lines += ["", "## Left out", "", "```json", json.dumps(card["left_out"], indent=2), "```",
              "", "Loading: `datasets.load_dataset(\"json\", data_files={\"train\": \"sft/train.jsonl\", ...})`.", ""]
    return "\n".join(lines)
