"""training/: turn a base model into a Generalist Tool Model, and judge simulators.

- `gtm-train sft` (`training.sft`): supervised fine-tuning with TRL on a synthesis export
  (docs/export-format.md), each record encoded exactly as the server prompts a model
  (`training.encode`); full or LoRA; CPU, one GPU, or several through accelerate.
- `gtm-train build` (`training.build`): the first GTM (the packaged SmolLM2-135M) in one command,
  installed in the models cache as `gtm-smollm2`.
- `gtm-eval` (`training.evaluation`): the paper's metrics and reference-based fidelity, measured
  through a running gtm-mcp server with the official MCP client.

Imports `gtm_mcp` (the contract, the models cache, the launcher) and nothing from `synthesis`.
"""
