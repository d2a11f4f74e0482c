"""The exported model folder: weights, tokenizer with its chat template, and a card (`gtm.json`,
`README.md`) saying how the model was trained and how to serve it so that it sees the prompts it
was trained on. `vllm serve DIR` and `gtm-mcp serve --backend local --model DIR` load it as it is.

LoRA: `merge_adapter` loads the base weights, applies the adapter, checks that the merged model's
logits equal the adapter model's on a real prompt (the check is part of every merge), and saves
plain weights."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gtm_mcp.contract import PROMPT_FORMAT_VERSION

log = logging.getLogger("training.export")

CARD_FILE = "gtm.json"
#: largest |logit difference| between the adapter model and the merged model (fp32) accepted
MERGE_TOLERANCE = 1e-3


class MergeError(RuntimeError):
    """The merged model does not reproduce the adapter model."""


class ModelCard(BaseModel):
    """What a served GTM needs to know about its training (`gtm.json` in the model folder)."""

    model_config = ConfigDict(extra="allow")

    format: str = "gtm-model/1"
    prompt_format: str = PROMPT_FORMAT_VERSION
    method: str = "full"
    base: dict[str, Any] = Field(default_factory=dict)
    serve: dict[str, int] = Field(default_factory=dict)  # context_window, max_new_tokens
    data: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    eval_loss: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_summary(cls, summary: dict[str, Any], *, method: str) -> ModelCard:
        options = summary["options"]
        data = summary["data"]
        return cls(method=method, base=summary["base"],
                   serve={"context_window": options["max_length"], "max_new_tokens": options["max_new_tokens"]},
                   data={"export": data["export"], "train_records": data["train"]["records"],
                         "train_tools": data["train"]["tools"], "train_sequences": data["train_sequences"],
                         "by_source": data["train"]["by_source"]},
                   training={k: summary["training"].get(k) for k in ("steps", "seconds", "seconds_per_step",
                                                                     "train_loss")} | {"hardware": summary["hardware"]},
                   eval_loss=summary["eval_loss"])


def serve_commands(model_dir: Path, card: ModelCard) -> str:
    window = card.serve.get("context_window", 4096)
    new = card.serve.get("max_new_tokens", 512)
    return (f"gtm-mcp serve --tools TOOLS --backend local --model {model_dir} --context-window {window} "
            f"--max-new-tokens {new}\n"
            f"vllm serve {model_dir} --served-model-name gtm --max-model-len {window} "
            "--structured-outputs-config '{\"backend\": \"xgrammar\", \"disable_any_whitespace\": true}'\n"
            f"gtm-mcp serve --tools TOOLS --backend openai --base-url http://127.0.0.1:8000/v1 --model gtm "
            f"--tokenizer {model_dir} --context-window {window} --max-new-tokens {new}")


def write_card(model_dir: Path, card: ModelCard) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / CARD_FILE).write_text(card.model_dump_json(indent=2))
    eval_loss = card.eval_loss
    lines = [f"# GTM fine-tuned from {card.base.get('spec', '?')} ({card.method})", "",
             f"Prompt format `{card.prompt_format}`; trained on {card.data.get('train_records', '?')} records of "
             f"{card.data.get('train_tools', '?')} tools from `{card.data.get('export', '?')}`.",
             f"Eval loss on held-out tools: {eval_loss.get('before')} before, {eval_loss.get('after')} after.", "",
             "Serve it with the window it was trained with, so that it sees the prompts it learned from:", "",
             "```bash", serve_commands(model_dir, card), "```", ""]
    (model_dir / "README.md").write_text("\n".join(lines))


def read_card(model_dir: Path) -> ModelCard | None:
    path = Path(model_dir) / CARD_FILE
    if not path.is_file():
        return None
    return ModelCard.model_validate_json(path.read_text())


def export_full(model_dir: Path, tokenizer: Any, *, dtype: str) -> None:
    """Re-save the weights `Trainer.save_model` wrote in `dtype`, with the tokenizer and a generation
    config that stops at the chat template's end-of-turn token."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, dtype))
    _finish(model, tokenizer, model_dir, dtype)


def _finish(model: Any, tokenizer: Any, model_dir: Path, dtype: str) -> None:
    import torch

    model = model.to(getattr(torch, dtype))
    model.config.dtype = getattr(torch, dtype)
    eos = tokenizer.eos_token_id
    if eos is not None:
        model.generation_config.eos_token_id = eos
        model.config.eos_token_id = eos
    if tokenizer.pad_token_id is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    for stale in model_dir.glob("*.safetensors*"):  # a re-save may shard differently
        stale.unlink()
    model.save_pretrained(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    for leftover in ("training_args.bin",):
        (model_dir / leftover).unlink(missing_ok=True)


def probe_inputs(tokenizer: Any) -> Any:
    """A real served prompt (the prompt format on a small tool) as model inputs, for merge checks."""
    from gtm_mcp.contract import SimulationRequest, ToolDefinition
    from gtm_mcp.contract.prompt import render_messages

    tool = ToolDefinition(name="get_order", description="Look up an order by its id.",
                          input_schema={"type": "object", "properties": {"order_id": {"type": "string"}},
                                        "required": ["order_id"]})
    request = SimulationRequest(tool=tool, arguments={"order_id": "#W2378156"}, session_id="probe",
                                output_schema=None)
    text = tokenizer.apply_chat_template(render_messages(request), tokenize=False, add_generation_prompt=True)
    return tokenizer(text, return_tensors="pt", add_special_tokens=False)


def merge_adapter(base_source: str, adapter_dir: Path, out_dir: Path, *, dtype: str = "bfloat16",
                  tolerance: float = MERGE_TOLERANCE) -> dict[str, Any]:
    """Merge a LoRA adapter into its base weights and save a plain model folder at `out_dir`.
    Raises `MergeError` when the merged model's logits differ from the adapter model's (fp32)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(adapter_dir))
    base = AutoModelForCausalLM.from_pretrained(base_source, dtype=torch.float32)
    adapted = PeftModel.from_pretrained(base, str(adapter_dir)).eval()
    inputs = probe_inputs(tokenizer)
    with torch.inference_mode():
        expected = adapted(**inputs).logits
    merged = adapted.merge_and_unload().eval()
    with torch.inference_mode():
        got = merged(**inputs).logits
    difference = float((expected - got).abs().max())
    same_argmax = bool((expected.argmax(-1) == got.argmax(-1)).all())
    if difference > tolerance or not same_argmax:
        raise MergeError(f"the merged model differs from the adapter model: max |logit difference| "
                         f"{difference:.2e} (tolerance {tolerance:g}), same greedy tokens: {same_argmax}")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    _finish(merged, tokenizer, out_dir, dtype)
    log.info("merged %s into %s: max |logit difference| %.2e", adapter_dir, out_dir, difference)
    return {"max_logit_difference": difference, "same_greedy_tokens": same_argmax, "tolerance": tolerance,
            "probe_tokens": int(inputs["input_ids"].shape[1])}


def describe_model(model_dir: Path) -> dict[str, Any]:
    card = read_card(model_dir)
    config = json.loads((model_dir / "config.json").read_text()) if (model_dir / "config.json").is_file() else {}
    return {"card": card.model_dump() if card else None, "architectures": config.get("architectures")}
