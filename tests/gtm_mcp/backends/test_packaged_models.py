"""Packaged models: located inside installed wheels, converted once into the cache, never downloaded."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import jsonschema
import pytest
from tiny_model import tiny_random_qwen2

from gtm_mcp.backends.local import LocalBackend
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.records import SimulationRequest
from gtm_mcp.models import ModelNotFoundError, packaged_gguf, packaged_model, resolve_model


def smollm2_gguf() -> Path:
    try:
        return packaged_gguf("smollm2")
    except ModelNotFoundError as e:
        pytest.fail(f"{e} (CI runs scripts/setup_models.sh)")


def test_packaged_smollm2_is_found_and_converted_once() -> None:
    gguf = smollm2_gguf()
    assert gguf.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and gguf.stat().st_size > 50_000_000
    folder = packaged_model("smollm2")
    assert resolve_model("smollm2") == str(folder)  # cached: same folder, no second conversion
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"
    assert (folder / "model.safetensors").stat().st_size > 200_000_000  # dequantised bf16 weights
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    assert tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert "<|im_start|>" in (folder / "chat_template.jinja").read_text()


def test_resolve_model_paths_and_unknown_names(tmp_path: Path) -> None:
    assert resolve_model(str(tmp_path)) == str(tmp_path)
    with pytest.raises(ModelNotFoundError, match="neither a packaged model"):
        resolve_model("no-such-model")
    with pytest.raises(ModelNotFoundError, match="unknown packaged model"):
        packaged_model("nope")


def test_tiny_random_qwen2_round_trips(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tiny_random_qwen2(tmp_path / "tiny")
    assert tiny_random_qwen2(folder) == folder  # reused
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                         add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")
    assert model.config.num_hidden_layers == 2


@pytest.mark.slow
def test_local_backend_loads_a_gguf_file_directly() -> None:
    import xgrammar  # noqa: F401 - installed by scripts/setup_models.sh; missing must fail, not skip
    tool = ToolDefinition(name="echo", description="Echo the text back.",
                          input_schema={"type": "object", "properties": {"text": {"type": "string"}}},
                          output_schema={"type": "object", "properties": {"text": {"type": "string"}},
                                         "required": ["text"]})

    async def main() -> str:
        b = LocalBackend(str(smollm2_gguf()), max_new_tokens=32, constrained="on", timeout_s=300)
        try:
            return await b.simulate(SimulationRequest(tool=tool, arguments={"text": "hello"}, session_id="s",
                                                      output_schema=tool.output_schema or {}))
        finally:
            await b.aclose()

    jsonschema.validate(json.loads(anyio.run(main)), {"type": "object", "required": ["text"]})
