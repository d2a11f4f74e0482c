"""`gtm-train build`: the first GTM in one command. Fine-tunes the packaged SmolLM2-135M-Instruct on
an export with a recipe measured on a 2-core CPU, and installs the result in the models cache
(`$GTM_MCP_CACHE/models/<name>`, default name `gtm-smollm2`), where `--model gtm-smollm2` finds it:

    gtm-train build --data EXPORT
    gtm-mcp serve --tools TOOLS --backend local --model gtm-smollm2 --context-window 1024 --max-new-tokens 384
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gtm_mcp.models import cache_dir
from training.sft import TrainOptions, TrainResult, run_sft

log = logging.getLogger("training.build")

DEFAULT_NAME = "gtm-smollm2"

#: The CPU recipe for SmolLM2-135M (full fine-tuning; see README "Recipes" for the measured time per step).
CPU_RECIPE: dict[str, Any] = {
    "base": "smollm2", "max_length": 1024, "max_new_tokens": 384, "packing": True, "batch_size": 1,
    "grad_accum": 2, "learning_rate": 1e-4, "warmup": 0.05, "max_steps": 200, "logging_steps": 5,
    "save_steps": 25, "eval_steps": 25, "eval_limit": 16, "precision": "fp32", "export_dtype": "bfloat16",
}


def run_dir(name: str) -> Path:
    """Where a build keeps its checkpoints, loss plot and summary (resumable)."""
    return cache_dir() / ".runs" / name


def installed(name: str) -> Path:
    return cache_dir() / name


def build(data: str, *, name: str = DEFAULT_NAME, overrides: dict[str, Any] | None = None,
          resume: bool = False) -> tuple[Path, TrainResult]:
    """Train with the CPU recipe (plus `overrides`) and install the model as `name` in the cache."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"--name {name!r}: a plain folder name is needed (it becomes $GTM_MCP_CACHE/models/NAME)")
    out = run_dir(name)
    settings = {**CPU_RECIPE, **(overrides or {}), "data": data, "output": str(out)}
    if resume:
        settings["resume"] = "latest"
    elif (out / "checkpoints").exists():
        shutil.rmtree(out / "checkpoints")  # a fresh build: old checkpoints would be resumed by nobody
    result = run_sft(TrainOptions(**settings))
    assert result.model_dir is not None, "the build recipe always exports a full model"
    target = installed(name)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        shutil.copytree(result.model_dir, staging, dirs_exist_ok=True)
        if (out / "loss.png").is_file():
            shutil.copy2(out / "loss.png", staging / "loss.png")
        staging.chmod(0o755)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    log.info("installed %s at %s", name, target)
    return target, result
