"""PNG figures: the training loss curve and the evaluation bar chart (matplotlib, no display)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def loss_plot(log_history: Sequence[Mapping[str, Any]], out: Path, *, title: str = "SFT loss") -> Path:
    """Training loss and evaluation loss (held-out tools) against the optimizer step."""
    plt = _pyplot()
    train = [(h["step"], h["loss"]) for h in log_history if "loss" in h and "step" in h]
    evals = [(h["step"], h["eval_loss"]) for h in log_history if "eval_loss" in h and "step" in h]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss", color="#1f77b4")
    if evals:
        ax.plot(*zip(*evals, strict=True), label="eval loss (held-out tools)", color="#d62728", marker="o")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (target tokens only)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if train or evals:
        ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def bar_chart(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], out: Path, *, label_key: str = "label",
              title: str = "") -> Path:
    """Grouped bars: one group per column (metric), one bar per row (simulator); values in percent."""
    plt = _pyplot()
    labels = [str(r[label_key]) for r in rows]
    width = 0.8 / max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(max(7, 0.75 * len(columns) * max(len(rows), 1) + 2), 4.2), dpi=110)
    for i, row in enumerate(rows):
        xs = [c + i * width - 0.4 + width / 2 for c in range(len(columns))]
        values = [row.get(col) for col in columns]
        ax.bar(xs, [v if isinstance(v, int | float) else 0 for v in values], width, label=labels[i])
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels(columns, rotation=30, ha="right")
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    if title:
        ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
