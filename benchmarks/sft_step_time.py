"""Seconds per optimizer step of `gtm-train sft` on this machine, for the README's recipes.

    .venv/bin/python benchmarks/sft_step_time.py --data EXPORT [--base smollm2] [--steps 6] \
        [--max-length 512 1024] [--lora]

Each configuration runs a few real steps on the export (full fine-tuning, or LoRA with --lora) and
prints the median step time (the first step, which pays for warm-up, left out), tokens per second,
and the load average during the run: on a shared machine the figures scale with the load.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

from training.sft import TrainOptions, run_sft


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--base", default="smollm2")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--max-length", type=int, nargs="+", default=[512, 1024])
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--lora", action="store_true")
    args = p.parse_args()
    rows = []
    for max_length in args.max_length:
        with tempfile.TemporaryDirectory(prefix="sft-bench-") as out:
            load_before = os.getloadavg()[0]
            result = run_sft(TrainOptions(
                data=args.data, output=out, base=args.base, max_steps=args.steps, batch_size=args.batch_size,
                max_length=max_length, max_new_tokens=max_length // 2, lora=args.lora, eval_before=False,
                eval_limit=1, save_steps=10_000, logging_steps=1, precision="fp32"))
            training = result.summary["training"]
            rows.append({"base": args.base, "method": "lora" if args.lora else "full", "max_length": max_length,
                         "batch_size": args.batch_size, "steps": training["steps"],
                         "seconds_per_step": training["seconds_per_step"],
                         "tokens_per_second": training.get("tokens_per_second"),
                         "load_average": round((load_before + os.getloadavg()[0]) / 2, 1),
                         "cpu_threads": result.summary["hardware"]["cpu_threads"]})
            print(json.dumps(rows[-1]), flush=True)
    print("\n| base | method | max_length | batch | s/step | tokens/s | load avg |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['base']} | {r['method']} | {r['max_length']} | {r['batch_size']} | {r['seconds_per_step']} | "
              f"{r['tokens_per_second']} | {r['load_average']} |")


if __name__ == "__main__":
    main()
