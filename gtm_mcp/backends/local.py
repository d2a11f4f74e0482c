"""The `local` backend: a model loaded in-process with transformers (CPU or GPU), schema-constrained.

- The model is a transformers folder, a `.gguf` file, or a packaged model name (`smollm2`, see
  `gtm_mcp.models`). It is loaded on first use, in a worker thread, so the server starts fast.
- Requests are rendered with the prompt format (`gtm_mcp.contract.prompt`) and the tokenizer's chat
  template; when the session history outgrows the context window the oldest turns are dropped
  (counted with the real tokenizer).
- Decoding is constrained to the output schema with xgrammar (chosen by measurement: the only
  library that works with transformers 5 at a small cost; see docs/backends.md), compiled with
  `any_whitespace=False` so that small models cannot pad with whitespace.
- Concurrent calls are batched: the first waiting call leads, waits `batch_window_s` for others
  to join, and runs one padded `generate` for up to `max_batch` requests in a worker thread. One
  generate runs at a time (the hardware is the limit); the event loop never blocks. At most
  `max_queue` calls wait beside the batch that generates; more are answered "busy" at once
  (a BackendError: an isError result), never queued without bound. Measured on 2
  idle cores (benchmarks/backend_local_constrained.py), 8 concurrent SmolLM2 calls finish 2.7x
  sooner batched than one at a time (but batching suffers most when other processes hold a core).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread

from gtm_mcp.backends import BackendOptions
from gtm_mcp.backends.base import AnswerTruncated, BackendError, BackendHealth
from gtm_mcp.contract.prompt import prompt_budget, render_prompt, token_counter
from gtm_mcp.contract.records import SimulationRequest

log = logging.getLogger("gtm_mcp.backends.local")

ConstrainMode = Literal["auto", "on", "off"]
#: Grammars beside the output schema's: a refusal in the prompt format, and free text.
_REFUSAL = 'root ::= "Error: " [^\\n]+'
_ANY_TEXT = "root ::= [^]+"


@dataclass
class _Pending:
    request: SimulationRequest
    done: bool = False
    text: str | None = None
    truncated: bool = False  # generation stopped at max_new_tokens, not at the end of the answer
    error: str | None = None  # the log id of the exception that failed this call's batch
    queued_at: float = field(default_factory=time.perf_counter)


class LocalBackend:
    """Simulates tools with a model loaded in this process."""

    name = "local"
    repairable = True

    def __init__(self, model: str, *, device: str = "auto", dtype: str = "auto", max_new_tokens: int = 512,
                 temperature: float = 0.0, context_window: int | None = None, timeout_s: float = 120.0,
                 constrained: ConstrainMode = "auto", max_batch: int = 8, batch_window_s: float = 0.01,
                 max_queue: int = 256) -> None:
        self.model_spec = model
        self.device_pref = device
        self.dtype_pref = dtype
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.context_window = context_window
        self.timeout_s = timeout_s
        self.constrained_mode: ConstrainMode = constrained
        self.max_batch = max(1, max_batch)
        self.batch_window_s = batch_window_s
        self.max_queue = max(0, max_queue)
        self._in_flight = 0  # calls inside simulate()
        self._generating = 0  # of which in the batch that generates now
        self._pending: list[_Pending] = []
        self._run_lock = anyio.Lock()
        self._load_lock = anyio.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._grammar_compiler: Any = None
        self._grammars: dict[str, Any] = {}
        self._load_error: str | None = None
        self._load_public = ""
        self.device: str | None = None
        self.constrained: bool | None = None
        self.stats: dict[str, Any] = {"requests": 0, "ok": 0, "errors": 0, "batches": 0, "batched_requests": 0,
                                      "generated_tokens": 0, "generate_s": 0.0, "dropped_turns": 0, "truncated": 0,
                                      "busy": 0, "load_s": None, "last_error": None}

    @classmethod
    def from_options(cls, options: BackendOptions) -> LocalBackend:
        if not options.model:
            raise ValueError("the local backend needs --model: a transformers folder, a .gguf file or a "
                             "packaged model name (smollm2)")
        from gtm_mcp.extras import missing_modules

        if missing := missing_modules(("torch", "transformers")):
            raise ImportError(f"--backend local needs the 'local' extra and torch ({', '.join(missing)} not "
                              "installed): pip install torch 'gtm-mcp[local]' (CPU torch: add --index-url "
                              "https://download.pytorch.org/whl/cpu)")
        return cls(options.model, device=options.device, dtype=options.dtype, max_new_tokens=options.max_new_tokens,
                   temperature=options.temperature, context_window=options.context_window,
                   timeout_s=max(options.timeout_s, 1.0), constrained=options.structured_output,
                   max_queue=options.max_queue)

    # -- the call ------------------------------------------------------------------------------

    async def simulate(self, request: SimulationRequest) -> str:
        self.stats["requests"] += 1
        waiting = self._in_flight - self._generating
        if waiting >= self.max_queue:
            self.stats["busy"] += 1
            raise BackendError(f"busy: {waiting} calls are already waiting for the local model (--max-queue "
                               f"{self.max_queue}); retry in a moment")
        self._in_flight += 1
        try:
            return await self._simulate(request)
        finally:
            self._in_flight -= 1

    async def _simulate(self, request: SimulationRequest) -> str:
        item = _Pending(request)
        try:
            with anyio.fail_after(self.timeout_s):
                await self._ensure_loaded()
                self._pending.append(item)
                while not item.done:
                    async with self._run_lock:
                        if item.done:
                            break
                        limit = self.max_batch
                        if limit > 1:
                            await anyio.sleep(self.batch_window_s)  # let concurrent calls join this batch
                        batch = self._pending[:limit]
                        del self._pending[: len(batch)]
                        # shielded: the batch's other callers depend on this one finishing it
                        with anyio.CancelScope(shield=True):
                            self._generating = len(batch)
                            try:
                                await self._run_batch(batch)
                            finally:
                                self._generating = 0
        except TimeoutError:
            if item in self._pending:
                self._pending.remove(item)
            self._fail(f"no answer within {self.timeout_s:g} s")
            raise BackendError(f"the local model did not answer within {self.timeout_s:g} s") from None
        except BackendError as e:
            self._fail(str(e))
            raise
        if item.error is not None:
            message = f"the local model failed (ref {item.error})"  # the log has the exception under this id
            self._fail(message)
            raise BackendError(message)
        assert item.text is not None
        if item.truncated and request.expects_json:
            self.stats["truncated"] += 1
            raise AnswerTruncated(self.max_new_tokens, item.text)
        self.stats["ok"] += 1
        return item.text

    async def _run_batch(self, batch: list[_Pending]) -> None:
        try:
            texts = await anyio.to_thread.run_sync(self._generate, [p.request for p in batch])
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("local generation failed [%s]", ref)
            for p in batch:
                p.error, p.done = ref, True
            return
        for p, text in zip(batch, texts, strict=True):
            p.text, p.truncated = text
            p.done = True

    def _fail(self, message: str) -> None:
        self.stats["errors"] += 1
        self.stats["last_error"] = message

    # -- loading -------------------------------------------------------------------------------

    async def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        async with self._load_lock:
            if self._model is not None:
                return
            if self._load_error is not None:
                raise BackendError(self._load_public)
            try:
                await anyio.to_thread.run_sync(self._load)
            except Exception:
                ref = secrets.token_hex(4)
                log.exception("cannot load the local model %r [%s]", self.model_spec, ref)
                self._load_error = f"cannot load the local model {self.model_spec!r} (ref {ref}: see the server log)"
                self._load_public = f"cannot load the local model (ref {ref}; the server log has the details)"
                raise BackendError(self._load_public) from None

    def _load(self) -> None:
        start = time.perf_counter()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from gtm_mcp.models import resolve_model
        from gtm_mcp.models.packaged import load_gguf_model

        path = Path(resolve_model(self.model_spec))
        device = self.device_pref
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.dtype_pref == "auto":
            dtype = torch.bfloat16  # ~25% faster than fp32 on CPU for these models, native on GPUs
        else:
            dtype = getattr(torch, self.dtype_pref)
        if path.suffix == ".gguf":
            tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
            model = load_gguf_model(path).to(dtype)
        else:
            tokenizer = AutoTokenizer.from_pretrained(str(path))
            model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
        model.to(device).eval()
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if self.context_window is None:
            self.context_window = int(getattr(model.config, "max_position_embeddings", 4096) or 4096)
        self.constrained = self._init_constraints(tokenizer, model)
        self._tokenizer, self.device = tokenizer, device
        self._model = model
        self.stats["load_s"] = round(time.perf_counter() - start, 2)
        log.info("loaded %s on %s (%s) in %.1f s; constrained decoding: %s", path, device, dtype,
                 self.stats["load_s"], "xgrammar" if self.constrained else "off")

    def _init_constraints(self, tokenizer: Any, model: Any) -> bool:
        if self.constrained_mode == "off":
            return False
        try:
            import xgrammar as xgr
        except ImportError:
            if self.constrained_mode == "on":
                raise RuntimeError("constrained decoding needs xgrammar: pip install --no-deps xgrammar "
                                   "apache-tvm-ffi (scripts/setup_models.sh)") from None
            log.warning("xgrammar is not installed: decoding is not constrained to the output schema")
            return False
        vocab = max(int(model.config.vocab_size), len(tokenizer))
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab)
        self._grammar_compiler = xgr.GrammarCompiler(info, max_threads=2)
        return True

    def _grammar(self, schema: dict[str, Any] | None) -> Any:
        """The compiled grammar for one answer: the output schema's JSON, or a refusal (`Error: ...`,
        prompt format gtm-prompt/2); any text for a tool that answers in text."""
        import xgrammar as xgr

        key = hashlib.sha1(json.dumps(schema, sort_keys=True).encode()).hexdigest()
        grammar = self._grammars.get(key)
        if grammar is None:
            if schema is None:
                grammar = self._grammar_compiler.compile_grammar(_ANY_TEXT)
            else:
                try:
                    answer = xgr.Grammar.from_json_schema(json.dumps(schema), any_whitespace=False, strict_mode=False)
                except Exception as e:  # a schema beyond the grammar compiler: any JSON object instead
                    log.warning("cannot compile the output schema to a grammar (%s); constraining to JSON only", e)
                    answer = xgr.Grammar.builtin_json_grammar()
                grammar = self._grammar_compiler.compile_grammar(xgr.Grammar.union(answer, xgr.Grammar.from_ebnf(
                    _REFUSAL)))
            if len(self._grammars) > 1024:
                self._grammars.clear()
            self._grammars[key] = grammar
        return grammar

    # -- generation (worker thread) ------------------------------------------------------------

    def _generate(self, requests: list[SimulationRequest]) -> list[tuple[str, bool]]:
        """(text, cut at max_new_tokens) for each request, in one padded batch."""
        import torch
        from transformers import LogitsProcessorList

        tokenizer, model = self._tokenizer, self._model
        assert self.context_window is not None
        budget = prompt_budget(self.context_window, self.max_new_tokens)
        count_tokens = token_counter(tokenizer)
        prompts = []
        for request in requests:
            rendered = render_prompt(request, token_budget=budget, count_tokens=count_tokens)
            self.stats["dropped_turns"] += rendered.dropped_turns
            prompts.append(tokenizer.apply_chat_template(rendered.messages, tokenize=False,
                                                         add_generation_prompt=True))
        encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        processors = LogitsProcessorList()
        if self.constrained:
            from xgrammar.contrib.hf import LogitsProcessor

            processors.append(LogitsProcessor([self._grammar(r.output_schema) for r in requests]))
        sampling: dict[str, Any] = {"do_sample": False}
        if self.temperature > 0:
            torch.manual_seed(requests[0].seed)
            sampling = {"do_sample": True, "temperature": self.temperature}
        start = time.perf_counter()
        with torch.inference_mode():
            output = model.generate(**encoded, max_new_tokens=self.max_new_tokens, logits_processor=processors,
                                    pad_token_id=tokenizer.pad_token_id, top_p=None, top_k=None, **sampling)
        new = output[:, encoded["input_ids"].shape[1]:]
        texts = tokenizer.batch_decode(new, skip_special_tokens=True)
        stops = {t for t in (tokenizer.eos_token_id, tokenizer.pad_token_id, model.generation_config.eos_token_id)
                 if isinstance(t, int)}
        cut = [new.shape[1] >= self.max_new_tokens and not any(int(t) in stops for t in row) for row in new]
        self.stats["generate_s"] += time.perf_counter() - start
        self.stats["generated_tokens"] += int((new != tokenizer.pad_token_id).sum())
        self.stats["batches"] += 1
        self.stats["batched_requests"] += len(requests)
        return list(zip(texts, cut, strict=True))

    # -- lifecycle -----------------------------------------------------------------------------

    async def health(self) -> BackendHealth:
        info = {"model": self.model_spec, "device": self.device, "constrained": self.constrained,
                "max_batch": self.max_batch,
                "context_window": self.context_window, "queued": len(self._pending), "in_flight": self._in_flight,
                "generating": self._generating, "max_queue": self.max_queue, **self.stats}
        if self._load_error:
            return BackendHealth("down", self._load_error, info)
        if self._model is None:
            return BackendHealth("ok", f"{self.model_spec} loads on the first call", info)
        return BackendHealth("ok", f"{self.model_spec} loaded on {self.device}", info)

    async def aclose(self) -> None:
        self._model = None
        self._tokenizer = None
        self._grammars.clear()
