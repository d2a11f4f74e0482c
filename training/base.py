"""Which base model a run starts from: a local transformers folder, a `.gguf` file (converted once
to a folder in the cache), a packaged model name (`smollm2`, see `gtm_mcp.models`), or a Hugging
Face hub id where this machine reaches a hub. Nothing here downloads anything by itself: a hub id
is handed to `from_pretrained`, and its failure becomes one clear error."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gtm_mcp.models import PACKAGED, cache_dir, packaged_model
from gtm_mcp.models.packaged import convert_gguf

log = logging.getLogger("training.base")

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class BaseModelError(ValueError):
    """The base model cannot be found or loaded; the message says what to do."""


@dataclass(frozen=True)
class BaseSpec:
    spec: str  # what the user named
    source: str  # what `from_pretrained` loads: a folder, or a hub id
    kind: Literal["packaged", "folder", "gguf", "hub"]


def resolve_base(spec: str) -> BaseSpec:
    """Where `spec` loads from (GGUF files and packaged models are converted once, then cached)."""
    if spec in PACKAGED:
        try:
            return BaseSpec(spec, str(packaged_model(spec)), "packaged")
        except LookupError as e:
            raise BaseModelError(str(e)) from None
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return BaseSpec(spec, str(converted_gguf(path)), "gguf")
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BaseModelError(f"{path} is a folder without config.json: not a transformers model folder")
        return BaseSpec(spec, str(path), "folder")
    if path.exists():
        raise BaseModelError(f"{path} is neither a transformers folder nor a .gguf file")
    if HUB_ID.match(spec) and not spec.startswith((".", "/", "~")):
        return BaseSpec(spec, spec, "hub")
    raise BaseModelError(f"base model {spec!r} not found: give a transformers folder, a .gguf file, a packaged "
                         f"model ({', '.join(PACKAGED)}) or a Hugging Face hub id such as Qwen/Qwen2.5-0.5B-Instruct")


def converted_gguf(gguf: Path) -> Path:
    """A transformers folder for a GGUF file, converted once into the models cache (keyed by the
    file's name, size and modification time)."""
    stat = gguf.stat()
    key = hashlib.sha1(f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:10]
    target = cache_dir() / f"gguf-{gguf.stem}-{key}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".gguf-", dir=target.parent))
    try:
        log.info("converting %s to a transformers folder at %s (once)", gguf, target)
        convert_gguf(gguf, tmp)
        tmp.chmod(0o755)
        tmp.rename(target)
    except Exception as e:
        raise BaseModelError(f"cannot convert {gguf} to a transformers model: {type(e).__name__}: {e}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_tokenizer(base: BaseSpec) -> Any:
    from transformers import AutoTokenizer

    from gtm_mcp.models.packaged import CHATML_TEMPLATE

    try:
        tokenizer = AutoTokenizer.from_pretrained(base.source)
    except (OSError, ValueError) as e:
        raise _load_error(base, e) from None
    if not getattr(tokenizer, "chat_template", None):
        log.warning("%s has no chat template: using ChatML (the template is saved with the trained model)", base.spec)
        tokenizer.chat_template = CHATML_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(base: BaseSpec, dtype: Any) -> Any:
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(base.source, dtype=dtype)
    except (OSError, ValueError) as e:
        raise _load_error(base, e) from None


def _load_error(base: BaseSpec, error: Exception) -> BaseModelError:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if base.kind == "hub":
        return BaseModelError(
            f"cannot load {base.spec!r} from the Hugging Face hub ({first}). This machine may not reach the hub: "
            "download the model where it does (`huggingface-cli download " + base.spec + " --local-dir DIR`) "
            "and pass --base DIR")
    return BaseModelError(f"cannot load the base model {base.spec!r} from {base.source}: {first}")
