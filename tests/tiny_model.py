"""Test fixture: a tiny random Qwen2 built in code (tokenizer trained on the fly): loads in well under a second.

Its outputs are noise, but it exercises the whole in-process path (chat template, batching,
constrained decoding) in unit tests without any weights on disk beforehand.
"""

from __future__ import annotations

import json
from pathlib import Path

from gtm_mcp.models.packaged import CHATML_TEMPLATE

_CORPUS = [
    '{"name": "value", "id": 123, "items": [1, 2, 3], "ok": true, "price": 12.5, "note": null}',
    "You simulate a tool. Reply with the JSON output of the tool only.",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 {}[]:,\"' _-./",
]


def tiny_random_qwen2(directory: str | Path, *, seed: int = 0, vocab_size: int = 400) -> Path:
    """Create (or reuse) a random 2-layer Qwen2 with a byte-level BPE tokenizer in `directory`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    out = Path(directory)
    if (out / "config.json").is_file() and (out / "tokenizer.json").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    raw.train_from_iterator(_CORPUS * 20, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        bos_token=None, unk_token=None)
    tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.save_pretrained(str(out))
    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
                         pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"), tie_word_embeddings=True)
    Qwen2ForCausalLM(config).save_pretrained(str(out))
    (out / "generation_config.json").write_text(json.dumps(
        {"eos_token_id": config.eos_token_id, "pad_token_id": config.pad_token_id, "do_sample": False}))
    return out
