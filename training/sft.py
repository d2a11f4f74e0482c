"""Supervised fine-tuning of a causal LM into a GTM, with TRL's `SFTTrainer`.

`run_sft(TrainOptions(...))` reads a synthesis export, encodes every record exactly as the server
would prompt the model (`training.encode`), trains (full or LoRA), evaluates the loss on held-out
tools (the export's `validation` split) before, during and after training, checkpoints, and exports
a model folder that `gtm-mcp serve --backend local` and `vllm serve` load as it is.

Run folder:

    OUT/checkpoints/checkpoint-N/   resumable (--resume latest)
    OUT/model/                      the exported model (full fine-tuning, or LoRA merged)
    OUT/adapter/                    the LoRA adapter (with --lora)
    OUT/loss.png                    train and eval loss against the step
    OUT/summary.json                options, data counts, time per step, losses
    OUT/eval_before.json            the eval loss before the first step (kept for resumed runs)

Multi-GPU: the same code under `accelerate launch --config_file training/configs/<fsdp|deepspeed>.yaml
-m training sft ...`; the Trainer reads the distributed set-up from accelerate.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from training.base import BaseSpec, load_model, load_tokenizer, resolve_base
from training.data import Export, ExportError, describe, select
from training.encode import Encoder
from training.export import ModelCard, export_full, merge_adapter, write_card

log = logging.getLogger("training.sft")
#: the eval loss measured before the first step, kept in the run folder for resumed runs
EVAL_BEFORE_FILE = "eval_before.json"


class TrainOptions(BaseModel):
    """Every knob of one SFT run (flags of `gtm-train sft`, or keys of its `--config` YAML file)."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field(description="the synthesis export folder (docs/export-format.md)")
    output: str = Field(description="the run folder (checkpoints, model/, loss.png, summary.json)")
    base: str = Field("smollm2", description="base model: transformers folder, .gguf file, packaged name or hub id")
    # data
    sources: list[str] = Field(default_factory=list, description="train only on records whose source starts with "
                               "one of these (e.g. recorded: tau-bench: carg:)")
    kinds: list[Literal["single", "multi", "error", "recorded"]] = Field(
        default_factory=list, description="train only on records of these kinds")
    limit: int | None = Field(None, ge=1, description="at most this many training records")
    eval_limit: int | None = Field(256, ge=1, description="at most this many held-out records for the eval loss")
    eval_split: Literal["validation", "test", "heldout_episodes"] = Field(
        "validation", description="the SFT split the eval loss is measured on: held-out tools (validation, test) or "
        "held-out episodes; an empty validation split falls back to heldout_episodes")
    max_length: int = Field(2048, ge=32, description="tokens per sequence; serve with --context-window MAX_LENGTH")
    max_new_tokens: int = Field(512, ge=8, description="longest target; serve with --max-new-tokens MAX_NEW_TOKENS")
    packing: bool = Field(True, description="pack sequences best-fit into max_length rows (padding-free)")
    # optimisation
    lora: bool = Field(False, description="train a LoRA adapter (peft) instead of all weights")
    lora_r: int = Field(16, ge=1, description="LoRA rank")
    lora_alpha: int = Field(32, ge=1, description="LoRA scaling numerator")
    lora_dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the LoRA path")
    lora_target_modules: str = Field("all-linear", description="modules LoRA adapts (peft target_modules)")
    merge_lora: bool = Field(False, description="also write model/: base weights with the adapter merged in")
    epochs: float = Field(1.0, gt=0, description="passes over the training records")
    max_steps: int = Field(-1, description="stop after this many optimizer steps (-1: run the epochs)")
    batch_size: int = Field(4, ge=1, description="sequences per device per micro-batch")
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimizer step")
    learning_rate: float | None = Field(None, gt=0, description="default: 2e-4 with LoRA, 5e-5 otherwise")
    lr_scheduler: str = Field("cosine", description="transformers scheduler name (cosine, linear, constant, ...)")
    warmup: float = Field(0.05, ge=0, description="warm-up: a ratio of the steps (<1) or a number of steps")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    seed: int = Field(0, description="seed for shuffling, dropout and initialisation")
    # hardware
    precision: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        "auto", description="auto: bf16 on a GPU that has it, fp16 on older GPUs, fp32 on CPU")
    gradient_checkpointing: Literal["auto", "on", "off"] = Field("auto", description="auto: on for GPUs, off on CPU")
    export_dtype: Literal["bfloat16", "float16", "float32"] = Field("bfloat16", description="dtype of the exported "
                                                                    "weights in model/")
    # bookkeeping
    logging_steps: int = Field(10, ge=1, description="log the training loss every N steps")
    eval_steps: int | None = Field(None, ge=1, description="eval loss every N steps (default: at each save)")
    eval_before: bool = Field(True, description="measure the eval loss before the first step too")
    save_steps: int = Field(100, ge=1, description="checkpoint every N steps (OUT/checkpoints)")
    save_total_limit: int = Field(2, ge=1, description="checkpoints kept (oldest removed)")
    resume: str | None = Field(None, description="'latest' (the newest checkpoint in OUT) or a checkpoint folder")
    report_to: str = Field("none", description="experiment trackers for the Trainer (none, tensorboard, wandb, ...)")

    @model_validator(mode="after")
    def _check(self) -> TrainOptions:
        if self.max_new_tokens >= self.max_length:
            raise ValueError(f"max_new_tokens ({self.max_new_tokens}) must be below max_length ({self.max_length})")
        if self.merge_lora and not self.lora:
            raise ValueError("merge_lora needs lora")
        return self

    @property
    def lr(self) -> float:
        return self.learning_rate or (2e-4 if self.lora else 5e-5)


@dataclass
class TrainResult:
    output: Path
    model_dir: Path | None
    adapter_dir: Path | None
    summary: dict[str, Any]


class TrainError(RuntimeError):
    """A run that cannot start or finish; the message says why."""


def run_sft(options: TrainOptions) -> TrainResult:
    """One SFT run (see the module doc). Raises `ExportError`, `BaseModelError` or `TrainError` with
    a message for the user; nothing in the run folder is lost on failure (checkpoints stay)."""
    out = Path(options.output).expanduser()
    export = Export.open(options.data)
    train_records = select(export.sft("train"), sources=options.sources, kinds=options.kinds, limit=options.limit)
    if not train_records:
        raise ExportError(f"{export.sft_path('train')}: no training records"
                          + (" match --sources/--kinds" if options.sources or options.kinds else ""))
    eval_split = options.eval_split
    if eval_split == "validation" and not export.has_sft("validation") and export.has_sft("heldout_episodes"):
        log.warning("%s is empty (the export holds out no tools): the eval loss is measured on held-out episodes",
                    export.sft_path("validation"))
        eval_split = "heldout_episodes"
    eval_records = select(export.sft(eval_split, required=False), sources=options.sources, kinds=options.kinds,
                          limit=options.eval_limit)
    base = resolve_base(options.base)
    tokenizer = load_tokenizer(base)
    encoder = Encoder(tokenizer, max_length=options.max_length, max_new_tokens=options.max_new_tokens)
    train_columns, train_stats = encoder.encode_all(train_records)
    eval_columns, eval_stats = encoder.encode_all(eval_records)
    if not train_columns["input_ids"]:
        raise TrainError(f"none of the {len(train_records)} training records fits max_length {options.max_length} "
                         f"with max_new_tokens {options.max_new_tokens}: " + "; ".join(train_stats.skipped_examples))
    log.info("data: %d training records (%d kept), %d held-out-tool records (%d kept); skipped: %s",
             len(train_records), train_stats.kept, len(eval_records), eval_stats.kept, train_stats.skipped_examples)

    import datasets
    import torch

    from training.timing import StepTimer

    hardware = _hardware(options, torch)
    model = load_model(base, torch.float32)
    trainer = _trainer(options, out, model, tokenizer, datasets.Dataset.from_dict(train_columns),
                       datasets.Dataset.from_dict(eval_columns) if eval_columns["input_ids"] else None, hardware)
    timer = next(c for c in trainer.callback_handler.callbacks if isinstance(c, StepTimer))
    resume = _resume_point(options, out)
    eval_before = _eval_before(out) if resume is not None else None  # measured when the run started
    with contextlib.redirect_stdout(sys.stderr):  # the Trainer prints logs to stdout; ours is for results
        if trainer.eval_dataset is not None and options.eval_before and resume is None:
            eval_before = trainer.evaluate()["eval_loss"]
            out.mkdir(parents=True, exist_ok=True)
            (out / EVAL_BEFORE_FILE).write_text(json.dumps({"eval_loss": eval_before}))
        started = time.perf_counter()
        train_output = trainer.train(resume_from_checkpoint=resume)
        train_seconds = time.perf_counter() - started
        eval_after = None
        if trainer.eval_dataset is not None:
            step = trainer.state.global_step  # evaluated at the last step already: not twice
            recent = trainer.state.log_history[-3:]
            done = [h["eval_loss"] for h in recent if h.get("step") == step and "eval_loss" in h]
            eval_after = done[-1] if done else trainer.evaluate()["eval_loss"]
    history = list(trainer.state.log_history)  # train() starts a fresh state: the step-0 eval goes first again
    if eval_before is not None:
        history.insert(0, {"step": 0, "eval_loss": eval_before})
    summary: dict[str, Any] = {
        "options": options.model_dump(), "base": {"spec": base.spec, "source": base.source, "kind": base.kind},
        "hardware": hardware,
        "data": {"export": str(export.root), "train": describe(train_records), "eval_split": eval_split,
                 "validation": describe(eval_records),
                 "train_encoding": train_stats.as_dict(), "validation_encoding": eval_stats.as_dict(),
                 "train_sequences": len(train_columns["input_ids"]),
                 "packed_train_rows": len(trainer.train_dataset)},
        "training": {"steps": trainer.state.global_step, "seconds": round(train_seconds, 1),
                     "train_loss": train_output.training_loss, **timer.summary(),
                     "tokens": _last(history, "num_tokens")},
        "eval_loss": {"before": eval_before, "after": eval_after},
        "first_train_loss": _first(history, "loss"), "last_train_loss": _last(history, "loss"),
    }
    tokens = summary["training"]["tokens"]
    if tokens and train_seconds > 0:
        summary["training"]["tokens_per_second"] = round(tokens / train_seconds, 1)
    model_dir, adapter_dir = _export(trainer, options, base, tokenizer, out, summary)
    if trainer.is_world_process_zero():
        from training.plots import loss_plot

        loss_plot(history, out / "loss.png", title=f"SFT of {base.spec} ({'LoRA' if options.lora else 'full'})")
        summary["log_history"] = history
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return TrainResult(out, model_dir, adapter_dir, summary)


def _eval_before(out: Path) -> float | None:
    try:
        return float(json.loads((out / EVAL_BEFORE_FILE).read_text())["eval_loss"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _hardware(options: TrainOptions, torch: Any) -> dict[str, Any]:
    cuda = torch.cuda.is_available()
    precision = options.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    if precision in ("bf16", "fp16") and not cuda:
        log.warning("%s mixed precision on CPU is slow here (measured 13x slower than fp32): consider --precision "
                    "fp32", precision)
    checkpointing = options.gradient_checkpointing == "on" or (options.gradient_checkpointing == "auto" and cuda)
    devices = torch.cuda.device_count() if cuda else 0
    return {"device": torch.cuda.get_device_name(0) if cuda else "cpu", "gpus": devices, "precision": precision,
            "gradient_checkpointing": checkpointing, "torch": torch.__version__,
            "cpu_threads": torch.get_num_threads()}


def _trainer(options: TrainOptions, out: Path, model: Any, tokenizer: Any, train: Any, evaluation: Any | None,
             hardware: dict[str, Any]) -> Any:
    from trl import SFTConfig, SFTTrainer

    from training.timing import StepTimer

    eval_steps = options.eval_steps or options.save_steps
    config = SFTConfig(
        output_dir=str(out / "checkpoints"), seed=options.seed, data_seed=options.seed,
        num_train_epochs=options.epochs, max_steps=options.max_steps,
        per_device_train_batch_size=options.batch_size, per_device_eval_batch_size=options.batch_size,
        gradient_accumulation_steps=options.grad_accum, learning_rate=options.lr,
        lr_scheduler_type=options.lr_scheduler, warmup_steps=options.warmup, weight_decay=options.weight_decay,
        bf16=hardware["precision"] == "bf16", fp16=hardware["precision"] == "fp16",
        use_cpu=hardware["device"] == "cpu", activation_checkpointing=hardware["gradient_checkpointing"],
        max_length=options.max_length, packing=options.packing, completion_only_loss=True,
        logging_steps=options.logging_steps, logging_first_step=True,
        eval_strategy="steps" if evaluation is not None else "no", eval_steps=eval_steps,
        save_strategy="steps", save_steps=options.save_steps, save_total_limit=options.save_total_limit,
        report_to=options.report_to, dataloader_num_workers=0,
    )
    peft_config = None
    if options.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=options.lora_r, lora_alpha=options.lora_alpha, lora_dropout=options.lora_dropout,
                                 target_modules=options.lora_target_modules, task_type="CAUSAL_LM")
    return SFTTrainer(model=model, args=config, train_dataset=train, eval_dataset=evaluation,
                      processing_class=tokenizer, peft_config=peft_config, callbacks=[StepTimer()])


def _resume_point(options: TrainOptions, out: Path) -> str | None:
    if options.resume is None:
        return None
    if options.resume == "latest":
        from transformers.trainer_utils import get_last_checkpoint

        folder = out / "checkpoints"
        last = get_last_checkpoint(str(folder)) if folder.is_dir() else None
        if last is None:
            raise TrainError(f"--resume latest: no checkpoint in {folder}")
        log.info("resuming from %s", last)
        return last
    path = Path(options.resume).expanduser()
    if not (path / "trainer_state.json").is_file():
        raise TrainError(f"--resume {path}: not a checkpoint folder (no trainer_state.json)")
    return str(path)


def _export(trainer: Any, options: TrainOptions, base: BaseSpec, tokenizer: Any, out: Path,
            summary: dict[str, Any]) -> tuple[Path | None, Path | None]:
    """model/ (and adapter/ with LoRA), each with the card that says how to serve it."""
    card = ModelCard.from_summary(summary, method="lora" if options.lora else "full")
    if not options.lora:
        model_dir = out / "model"
        trainer.save_model(str(model_dir))  # every process: FSDP/DeepSpeed gather the weights here
        if trainer.is_world_process_zero():
            export_full(model_dir, tokenizer, dtype=options.export_dtype)
            write_card(model_dir, card)
        return model_dir, None
    adapter_dir = out / "adapter"
    trainer.save_model(str(adapter_dir))
    if not trainer.is_world_process_zero():
        return None, adapter_dir
    tokenizer.save_pretrained(str(adapter_dir))
    write_card(adapter_dir, card)
    if not options.merge_lora:
        return None, adapter_dir
    model_dir = out / "model"
    report = merge_adapter(base.source, adapter_dir, model_dir, dtype=options.export_dtype)
    summary["merge"] = report
    write_card(model_dir, card.model_copy(update={"method": "lora-merged", "merge": report}))
    return model_dir, adapter_dir


def _first(history: list[dict[str, Any]], key: str) -> Any:
    return next((h[key] for h in history if key in h), None)


def _last(history: list[dict[str, Any]], key: str) -> Any:
    return next((h[key] for h in reversed(history) if key in h), None)
