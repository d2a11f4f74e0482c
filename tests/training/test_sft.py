"""`gtm-train`: real SFT runs with TRL on CPU, on a small real export (tau-bench's retail tools
replayed with their gold actions, see real_exports.py), with a tiny random Qwen2 built in the test
(the packaged SmolLM2 takes minutes per step on 2 shared cores; the recipes measure it instead)."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from real_exports import replay, retail_tools, write_export

from gtm_mcp.contract.prompt import prompt_budget, render_prompt, token_counter
from gtm_mcp.launch import serve_http
from training.data import Export

PNG = b"\x89PNG\r\n\x1a\n"
#: a tool whose every valid output is short, so that a barely trained tiny model terminates
FLAG_TOOL = {"name": "check_flag", "description": "Tell whether a feature flag is set.",
             "input_schema": {"type": "object", "properties": {"flag": {"type": "string"}}, "required": ["flag"]},
             "output_schema": {"type": "object", "properties": {"set": {"type": "boolean"},
                                                                "level": {"enum": ["low", "mid", "high"]}},
                               "required": ["set", "level"], "additionalProperties": False}}
TINY_RECIPE: dict[str, Any] = {"max_length": 1024, "max_new_tokens": 384, "batch_size": 2, "grad_accum": 1,
                               "learning_rate": 3e-3, "logging_steps": 1, "eval_limit": 4, "limit": 40,
                               "save_steps": 2, "eval_steps": 2, "export_dtype": "float32"}


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("export"), range(0, 16), heldout_tasks=(5, 6, 7))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tiny_model import tiny_random_qwen2

    return str(tiny_random_qwen2(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GTM_MCP_CACHE", str(root))
        yield root


@pytest.fixture(scope="module")
def built(export_dir: Path, tiny: str, cache: Path) -> dict[str, Any]:
    """`gtm-train build` with the tiny model: 4 steps, then resumed from its checkpoint to 10."""
    from training.build import build

    first_target, first = build(str(export_dir), name="gtm-tiny", overrides={**TINY_RECIPE, "base": tiny,
                                                                              "max_steps": 4})
    target, resumed = build(str(export_dir), name="gtm-tiny", overrides={**TINY_RECIPE, "base": tiny,
                                                                          "max_steps": 10}, resume=True)
    assert first_target == target
    return {"target": target, "first": first, "resumed": resumed}


def test_training_prompts_are_the_served_prompts(export_dir: Path, tiny: str) -> None:
    """Each record is fitted to the budget and tokenized exactly as the local backend prompts."""
    from transformers import AutoTokenizer

    from training.encode import Encoder

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    encoder = Encoder(tokenizer, max_length=1024, max_new_tokens=384)
    count = token_counter(tokenizer)
    episode = replay(2)  # 12 calls: long histories that must be cut
    steps = list(episode.steps())
    fitted = 0
    for request, call in steps[1:]:
        from gtm_mcp.contract.prompt import render_training_example

        record = {"messages": render_training_example(request, call.output)["messages"], "tool": call.tool}
        from training.data import SFTRecord

        encoded = encoder.encode(SFTRecord.model_validate(record))
        served = render_prompt(request, token_budget=prompt_budget(1024, 384), count_tokens=count)
        served_ids = tokenizer(tokenizer.apply_chat_template(served.messages, tokenize=False,
                                                             add_generation_prompt=True),
                               add_special_tokens=False)["input_ids"]
        if encoded is None:  # the target does not fit the served answer length: not trainable
            assert len(tokenizer(record["messages"][-1]["content"], add_special_tokens=False)["input_ids"]) >= 384
            continue
        prompt_length = encoded["completion_mask"].index(1)
        assert encoded["input_ids"][:prompt_length] == served_ids
        assert len(encoded["input_ids"]) <= 1024
        fitted += served.dropped_turns > 0
        assert tokenizer.decode(encoded["input_ids"][prompt_length:]).endswith(tokenizer.eos_token + "\n")
    assert fitted, "no record needed its history cut: the budget was not exercised"


def test_loss_decreases_resume_continues_and_the_build_is_cached(built: dict[str, Any], cache: Path) -> None:
    first, resumed = built["first"].summary, built["resumed"].summary
    assert first["training"]["steps"] == 4 and resumed["training"]["steps"] == 10
    history = resumed["log_history"]
    losses = [h["loss"] for h in history if "loss" in h]
    steps = [h["step"] for h in history if "loss" in h]
    assert steps[:4] == [1, 2, 3, 4], "the resumed run must continue the first run's history"
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3, losses
    assert first["eval_loss"]["before"] > resumed["eval_loss"]["after"]
    assert resumed["eval_loss"]["before"] == first["eval_loss"]["before"]  # kept across the resume
    assert history[0] == {"step": 0, "eval_loss": first["eval_loss"]["before"]}
    assert resumed["training"]["seconds_per_step"] > 0
    assert resumed["data"]["train_encoding"]["kept"] > 0 and resumed["data"]["train"]["records"] > 0
    out = built["resumed"].output
    assert (out / "loss.png").read_bytes()[:8] == PNG
    assert sorted(p.name for p in (out / "checkpoints").iterdir() if p.name.startswith("checkpoint-"))[-1] == \
        "checkpoint-8" or (out / "checkpoints" / "checkpoint-10").is_dir()
    target = built["target"]
    assert target == cache / "models" / "gtm-tiny"
    card = json.loads((target / "gtm.json").read_text())
    assert card["prompt_format"] == "gtm-prompt/2" and card["serve"] == {"context_window": 1024,
                                                                          "max_new_tokens": 384}
    from gtm_mcp.models import resolve_model

    assert resolve_model("gtm-tiny") == str(target)


def test_the_built_model_answers_through_the_mcp_server_by_name(built: dict[str, Any], cache: Path,
                                                                 tmp_path: Path) -> None:
    import anyio
    import jsonschema
    from mcp import Client

    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps({"format": "gtm", "tools": [FLAG_TOOL]}))
    # generous limits: the first call loads torch and the model, slow when other processes hold the cores
    with serve_http("--tools", str(tools), "--backend", "local", "--model", "gtm-tiny", "--max-new-tokens", "48",
                    "--context-window", "1024", "--timeout", "300", "--call-timeout", "300",
                    log=tmp_path / "server.log", env={"GTM_MCP_CACHE": str(cache)}) as srv:
        async def call() -> Any:
            async with Client(srv.url, read_timeout_seconds=320) as client:
                return await client.call_tool("check_flag", {"flag": "dark-mode"}, meta={"gtm-mcp/session": "t"})

        result = anyio.run(call)
        health = srv.healthz()
    assert not result.is_error, result.content
    jsonschema.validate(result.structured_content, FLAG_TOOL["output_schema"])
    assert health["backend"]["name"] == "local" and health["backend"]["state"] == "ok"
    assert health["backend"]["info"]["model"] == "gtm-tiny" and health["backend"]["info"]["ok"] >= 1


def test_lora_merge_gives_the_adapters_outputs(export_dir: Path, tiny: str, tmp_path: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.encode import Encoder
    from training.sft import TrainOptions, run_sft

    # an export that holds out no tools: the eval loss is measured on its held-out episodes instead
    no_tools_held_out = tmp_path / "export"
    shutil.copytree(export_dir, no_tools_held_out)
    (no_tools_held_out / "sft" / "validation.jsonl").write_text("")
    result = run_sft(TrainOptions(data=str(no_tools_held_out), output=str(tmp_path / "lora"), base=tiny, lora=True,
                                  lora_r=8, merge_lora=True, max_steps=3, **{**TINY_RECIPE, "learning_rate": 2e-2,
                                                                             "save_steps": 100}))
    assert result.adapter_dir and result.model_dir
    assert result.summary["merge"]["max_logit_difference"] < 1e-3
    assert result.summary["data"]["eval_split"] == "heldout_episodes" and result.summary["eval_loss"]["after"]
    tokenizer = AutoTokenizer.from_pretrained(str(result.model_dir))
    record = Export.open(export_dir).sft("heldout_episodes")[0]
    prompt = Encoder(tokenizer, max_length=1024, max_new_tokens=384).prompt_text(record.prompt)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    base = AutoModelForCausalLM.from_pretrained(tiny, dtype=torch.float32).eval()
    with torch.inference_mode():
        base_logits = base(**inputs).logits
    adapted = PeftModel.from_pretrained(base, str(result.adapter_dir)).eval()
    merged = AutoModelForCausalLM.from_pretrained(str(result.model_dir), dtype=torch.float32).eval()
    with torch.inference_mode():
        adapter_logits, merged_logits = adapted(**inputs).logits, merged(**inputs).logits
        greedy = {"max_new_tokens": 16, "do_sample": False, "pad_token_id": tokenizer.pad_token_id}
        adapter_tokens = adapted.generate(**inputs, **greedy)
        merged_tokens = merged.generate(**inputs, **greedy)
    assert (adapter_logits - base_logits).abs().max() > 1e-2, "the adapter must have changed the model"
    assert torch.allclose(adapter_logits, merged_logits, atol=1e-4)
    assert torch.equal(adapter_tokens, merged_tokens)


def test_bad_input_is_one_clear_line(export_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from training.cli import main

    assert main(["sft", "--data", str(tmp_path / "nowhere"), "--output", str(tmp_path / "o")]) == 2
    assert "no such export folder" in capsys.readouterr().err
    broken = tmp_path / "broken"
    (broken / "sft").mkdir(parents=True)
    good = (export_dir / "sft" / "train.jsonl").read_text().splitlines()[0]
    (broken / "sft" / "train.jsonl").write_text(good + "\n{not json\n" + json.dumps(
        {**json.loads(good), "format": "gtm-prompt/1"}) + "\n")
    assert main(["sft", "--data", str(broken), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "line 2: not JSON" in err and "line 3: rendered with prompt format 'gtm-prompt/1'" in err
    assert main(["sft", "--data", str(export_dir), "--output", str(tmp_path / "o"), "--max-length", "64",
                 "--max-new-tokens", "128"]) == 2
    assert "max_new_tokens (128) must be below max_length (64)" in capsys.readouterr().err
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    assert main(["sft", "--data", str(export_dir), "--output", str(tmp_path / "o"), "--base",
                 "Qwen/Qwen2.5-0.5B-Instruct"]) == 2
    err = capsys.readouterr().err
    assert "cannot load 'Qwen/Qwen2.5-0.5B-Instruct' from the Hugging Face hub" in err and "--base DIR" in err
    monkeypatch.setitem(sys.modules, "trl", None)  # as if the extra were not installed
    with pytest.raises(SystemExit) as stop:
        main(["sft", "--data", str(export_dir), "--output", str(tmp_path / "o")])
    assert stop.value.code == 2 and "needs the 'train' extra" in capsys.readouterr().err


def test_accelerate_configs_load() -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    folder = Path(__file__).resolve().parents[2] / "training" / "configs" / "accelerate"
    kinds = {}
    for path in sorted(folder.glob("*.yaml")):
        config = load_config_from_file(str(path))
        kinds[path.stem] = str(config.distributed_type)
        assert config.mixed_precision == "bf16" and config.num_processes >= 2
    assert set(kinds) >= {"fsdp", "deepspeed_zero2", "deepspeed_zero3", "ddp"}
    assert "FSDP" in kinds["fsdp"] and "DEEPSPEED" in kinds["deepspeed_zero3"]
    import yaml

    from training.sft import TrainOptions

    recipes = sorted(folder.parent.glob("*.yaml"))
    assert {p.stem for p in recipes} >= {"gtm-0.5b", "gtm-1.5b"}
    for path in recipes:  # every recipe is a valid --config file
        TrainOptions(**yaml.safe_load(path.read_text()), data="export", output="run")


@pytest.mark.gpu
def test_sft_on_gpu_uses_bf16(export_dir: Path, tiny: str, tmp_path: Path) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU on this machine: the bf16 GPU path is exercised where one is present")
    from training.sft import TrainOptions, run_sft

    result = run_sft(TrainOptions(data=str(export_dir), output=str(tmp_path / "gpu"), base=tiny, max_steps=3,
                                  **TINY_RECIPE))
    hardware = result.summary["hardware"]
    assert hardware["precision"] in ("bf16", "fp16") and hardware["device"] != "cpu"


def test_the_real_export_fixture_is_real() -> None:
    """The fixture's tools are tau-bench's own definitions and its outputs the real tools' answers."""
    tools = retail_tools()
    assert "get_order_details" in tools and tools["get_order_details"].input_schema["required"] == ["order_id"]
    episode = replay(0)
    assert episode.id == "tau-retail-test-0" and episode.calls[0].result == "yusuf_rossi_9620"
    assert episode.calls[1].result["order_id"] == "#W2378156"
