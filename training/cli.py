"""`gtm-train`: fine-tune a base model into a Generalist Tool Model on a synthesis export."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import types
import typing
import warnings
from pathlib import Path
from typing import Any, Literal

EPILOG = """\
commands:
  build   the first GTM in one command: the packaged SmolLM2-135M fine-tuned on CPU, installed in the
          models cache so that `gtm-mcp serve --backend local --model gtm-smollm2` finds it
  sft     any base model, full fine-tuning or LoRA, on CPU, one GPU, or several (accelerate launch)
  merge   merge a LoRA adapter into its base weights (checked: the merged logits equal the adapter's)

examples:
  gtm-train build --data export/
  gtm-train sft --data export/ --output runs/gtm-0.5b --base Qwen/Qwen2.5-0.5B-Instruct --max-steps 2000
  gtm-train sft --config training/configs/gtm-1.5b.yaml --data export/ --output runs/gtm-1.5b
  accelerate launch --config_file training/configs/accelerate/fsdp.yaml -m training sft \\
      --config training/configs/gtm-1.5b.yaml --data export/ --output runs/gtm-1.5b
  gtm-train merge --adapter runs/lora/adapter --out runs/lora/model

Exit codes: 0 done, 2 bad input (the message names the file, line or option), 1 a run that failed.
"""

#: What `gtm-train` imports beyond the core install (the `train` extra).
NEEDS = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "matplotlib")


def _annotation_kind(annotation: Any) -> tuple[type | None, tuple[str, ...] | None, bool]:
    """(scalar type, choices, is a list) of a TrainOptions field annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _annotation_kind(args[0])
    if origin is list:
        inner, choices, _ = _annotation_kind(args[0])
        return inner, choices, True
    if origin is Literal:
        return str, tuple(str(a) for a in typing.get_args(annotation)), False
    return annotation if annotation in (bool, int, float, str) else str, None, False


def _add_options(p: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    """One flag per TrainOptions field (--max-length for max_length); defaults stay None so that a
    --config file and the model's defaults apply underneath."""
    from training.sft import TrainOptions

    for name, info in TrainOptions.model_fields.items():
        if name in skip:
            continue
        kind, choices, is_list = _annotation_kind(info.annotation)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        help_text = (info.description or "") + ("" if default in (None, []) else f" (default: {default})")
        flag = "--" + name.replace("_", "-")
        if kind is bool:
            p.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif is_list:
            p.add_argument(flag, dest=name, nargs="+", choices=choices, default=None, help=help_text)
        else:
            p.add_argument(flag, dest=name, type=kind, choices=choices, default=None, help=help_text,
                           metavar=None if choices else name.upper())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gtm-train", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    sub = p.add_subparsers(dest="command", required=True)

    sft = sub.add_parser("sft", help="supervised fine-tuning on an export (TRL)",
                         description="Supervised fine-tuning on a synthesis export with TRL. Every flag is also a "
                         "key of the --config YAML file (max_length: 2048); flags win.")
    sft.add_argument("--config", type=Path, metavar="YAML", help="a file of options (see training/configs/)")
    _add_options(sft)

    build = sub.add_parser("build", help="build the first GTM (SmolLM2-135M on CPU) into the models cache",
                           description="Fine-tune the packaged SmolLM2-135M-Instruct on an export with the CPU "
                           "recipe and install it as $GTM_MCP_CACHE/models/NAME (--model NAME then finds it).")
    build.add_argument("--data", required=True, help="the synthesis export folder")
    build.add_argument("--name", default=None, help="the installed model's name (default: gtm-smollm2)")
    build.add_argument("--resume", action="store_true", help="continue the last build of NAME from its checkpoint")
    build.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a recipe option, e.g. --set max_steps=600 --set sources=recorded:")

    merge = sub.add_parser("merge", help="merge a LoRA adapter into its base weights")
    merge.add_argument("--adapter", required=True, type=Path, help="the adapter folder (RUN/adapter)")
    merge.add_argument("--out", required=True, type=Path, help="the merged model folder (created)")
    merge.add_argument("--base", help="the base model (default: the one recorded in the adapter)")
    merge.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"))
    for command in (sft, build, merge):  # -q also after the command
        command.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="warnings only")
    return p


def _options_from(args: argparse.Namespace) -> dict[str, Any]:
    import yaml

    from training.sft import TrainOptions

    values: dict[str, Any] = {}
    if args.config is not None:
        try:
            loaded = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ValueError(f"--config {args.config}: {e}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"--config {args.config}: expected a mapping of options")
        values.update({str(k).replace("-", "_"): v for k, v in loaded.items()})
    values.update({k: v for k, v in vars(args).items() if k in TrainOptions.model_fields and v is not None})
    for required in ("data", "output"):
        if required not in values:
            raise ValueError(f"--{required} is required (a flag or a key of --config)")
    return values


def _parse_set(items: list[str]) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        value = yaml.safe_load(raw) if raw else ""
        key = key.strip().replace("-", "_")
        if key in ("sources", "kinds") and not isinstance(value, list):
            value = [v for v in str(value).split(",") if v]
        out[key] = value
    return out


def _validation_message(e: Any) -> str:
    return "; ".join(f"{'.'.join(str(x) for x in err['loc']) or 'options'}: "
                     f"{err['msg'].removeprefix('Value error, ')}" for err in e.errors())


def main(argv: list[str] | None = None) -> int:
    from gtm_mcp.extras import require_extra

    args = parser().parse_args(argv)
    require_extra("gtm-train", "train", NEEDS)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, stream=sys.stderr,
                        format="[gtm-train] %(levelname)s: %(message)s")
    # deprecation notices from inside the libraries (peft calling transformers' old names): not the user's to act on
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|peft|trl)(\.|$)")
    from pydantic import ValidationError

    from training.base import BaseModelError
    from training.data import ExportError
    from training.export import MergeError
    from training.sft import TrainError

    try:
        if args.command == "sft":
            return _sft(args)
        if args.command == "build":
            return _build(args)
        return _merge(args)
    except ValidationError as e:
        print(f"gtm-train {args.command}: {_validation_message(e)}", file=sys.stderr)
        return 2
    except (ExportError, BaseModelError, ValueError) as e:
        print(f"gtm-train {args.command}: {e}", file=sys.stderr)
        return 2
    except (TrainError, MergeError) as e:
        print(f"gtm-train {args.command}: {e}", file=sys.stderr)
        return 1


def _sft(args: argparse.Namespace) -> int:
    from training.export import read_card, serve_commands
    from training.sft import TrainOptions, run_sft

    result = run_sft(TrainOptions(**_options_from(args)))
    _print_result(result.summary, result.output)
    if result.model_dir is not None:
        card = read_card(result.model_dir)
        if card is not None:
            print(f"model: {result.model_dir}\nserve it with:\n{serve_commands(result.model_dir, card)}")
    if result.adapter_dir is not None and result.model_dir is None:
        print(f"adapter: {result.adapter_dir}\nmerge it for serving: gtm-train merge --adapter {result.adapter_dir} "
              f"--out {result.output / 'model'}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from training.build import DEFAULT_NAME, build
    from training.export import read_card, serve_commands

    name = args.name or DEFAULT_NAME
    target, result = build(args.data, name=name, overrides=_parse_set(args.set), resume=args.resume)
    _print_result(result.summary, result.output)
    card = read_card(target)
    print(f"installed: {target}\nserve it with (the name works wherever --model does):")
    if card is not None:
        print(serve_commands(target, card).replace(f"--model {target}", f"--model {name}", 1))
    return 0


def _merge(args: argparse.Namespace) -> int:
    from training.base import resolve_base
    from training.export import merge_adapter

    adapter = args.adapter.expanduser()
    config_path = adapter / "adapter_config.json"
    if not config_path.is_file():
        raise ValueError(f"{adapter}: not a LoRA adapter folder (no adapter_config.json)")
    base_source = resolve_base(args.base).source if args.base else json.loads(config_path.read_text()).get(
        "base_model_name_or_path")
    if not base_source:
        raise ValueError(f"{config_path} names no base model: pass --base")
    report = merge_adapter(base_source, adapter, args.out.expanduser(), dtype=args.dtype)
    print(json.dumps({"model": str(args.out), **report}, indent=2))
    return 0


def _print_result(summary: dict[str, Any], out: Path) -> None:
    training = summary["training"]
    print(json.dumps({"run": str(out), "steps": training["steps"], "seconds_per_step": training.get("seconds_per_step"),
                      "train_loss": {"first": summary.get("first_train_loss"), "last": summary.get("last_train_loss")},
                      "eval_loss_held_out_tools": summary["eval_loss"], "loss_plot": str(out / "loss.png"),
                      "train_records": summary["data"]["train"]["records"]}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
