"""OpenPipe ART's MCP•RL against gtm-mcp: scenarios generated from the server's tools, rollouts of a
policy calling them (each rollout its own session), RULER scoring each group.

    python examples/art/mcp_rl.py --offline            # everything local: gtm-mcp + the scripted LLM
    python examples/art/mcp_rl.py --mcp-url http://127.0.0.1:8765/mcp \
        --llm-base-url https://openrouter.ai/api/v1 --generator-model openai/gpt-4.1-mini \
        --policy-base-url http://127.0.0.1:8000/v1 --policy-model my-policy --judge-model openrouter/openai/o4-mini

The steps are ART's own (`art.mcp.generate_scenarios`, `art.Trajectory`, `art.TrajectoryGroup`,
`art.rewards.ruler_score_group`); the rollout is ART's MCP•RL rollout with one change: every tool
call carries `_meta["gtm-mcp/session"]` = the rollout's id, so the simulated world of one rollout
is consistent across its calls and never leaks into the other rollouts of its group. Training is
ART's: pass the scored groups to `await model.train(groups)` with a TrainableModel on a GPU backend.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm would fetch its price list
os.environ.setdefault("WEAVE_DISABLED", "true")

COMPLETE_TASK = {"type": "function", "function": {
    "name": "complete_task", "description": "Complete the task with a summary",
    "parameters": {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}}}
SYSTEM = ("You are an MCP agent. Use the tools to complete the task. When you are done, call complete_task with a "
          "summary of what you accomplished, by itself.")


async def list_tools(mcp_url: str) -> list[dict[str, Any]]:
    from mcp import Client

    async with Client(mcp_url) as client:
        tools = (await client.list_tools()).tools
    return [{"name": t.name, "description": t.description or "", "parameters": t.input_schema} for t in tools]


async def rollout(model: Any, task: str, tools: list[dict[str, Any]], mcp_url: str, max_turns: int) -> Any:
    """ART's MCP•RL rollout, with the rollout's id as the gtm-mcp session of every call."""
    import art
    from mcp import Client
    from openai import AsyncOpenAI

    episode = f"art-{uuid.uuid4().hex[:10]}"
    schemas = [{"type": "function", "function": t} for t in tools] + [COMPLETE_TASK]
    opening = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Please complete this task: {task}"}]
    trajectory = art.Trajectory(messages_and_choices=opening,
                                reward=0, tools=schemas, metadata={"task": task, "episode": episode},
                                metrics={"task_completed": False, "tool_errors": 0})
    llm = AsyncOpenAI(base_url=model.inference_base_url, api_key=model.inference_api_key)
    async with Client(mcp_url) as mcp:
        for _ in range(max_turns):
            response = await llm.chat.completions.create(model=model.inference_model_name, tools=schemas,
                                                         messages=trajectory.messages())
            choice = response.choices[0]
            trajectory.messages_and_choices.append(choice)
            if not choice.message.tool_calls:
                break
            for call in choice.message.tool_calls:
                arguments = json.loads(call.function.arguments or "{}")
                if call.function.name == "complete_task":
                    trajectory.metrics["task_completed"] = True
                    trajectory.logs.append(f"summary: {arguments.get('summary', '')}")
                    return trajectory
                result = await mcp.call_tool(call.function.name, arguments, meta={"gtm-mcp/session": episode})
                trajectory.metrics["tool_errors"] += int(bool(result.is_error))
                trajectory.messages_and_choices.append(
                    {"role": "tool", "tool_call_id": call.id, "content": result.content[0].text})
    return trajectory


async def run(args: argparse.Namespace, mcp_url: str, llm_url: str) -> list[Any]:
    import art
    from art.mcp import generate_scenarios
    from art.rewards import ruler_score_group

    tools = await list_tools(mcp_url)
    scenarios = await generate_scenarios(tools=tools, num_scenarios=args.scenarios, show_preview=False,
                                         generator_model=args.generator_model, generator_api_key=args.api_key,
                                         generator_base_url=args.llm_base_url or llm_url)
    model = art.Model(name=args.policy_model, project="gtm-mcp", inference_model_name=args.policy_model,
                      inference_base_url=args.policy_base_url or llm_url, inference_api_key=args.api_key)
    groups = []
    for scenario in scenarios:
        trajectories = await asyncio.gather(*(rollout(model, scenario.task, tools, mcp_url, args.max_turns)
                                              for _ in range(args.rollouts)))
        group = art.TrajectoryGroup(trajectories)
        scored = await ruler_score_group(group, judge_model=args.judge_model, extra_litellm_params={
            "api_base": args.judge_base_url or llm_url, "api_key": args.api_key})
        groups.append(scored)
    return groups


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offline", action="store_true", help="start gtm-mcp and the scripted LLM locally")
    parser.add_argument("--mcp-url", help="a running gtm-mcp server")
    parser.add_argument("--llm-base-url", help="OpenAI-compatible endpoint of the scenario generator")
    parser.add_argument("--generator-model", default="scripted")
    parser.add_argument("--policy-base-url")
    parser.add_argument("--policy-model", default="scripted")
    parser.add_argument("--judge-base-url")
    parser.add_argument("--judge-model", default="openai/scripted", help="a litellm model name")
    parser.add_argument("--api-key", default=os.environ.get("OPENROUTER_API_KEY", "none"))
    parser.add_argument("--scenarios", type=int, default=3)
    parser.add_argument("--rollouts", type=int, default=4, help="rollouts per scenario (a RULER group)")
    parser.add_argument("--max-turns", type=int, default=6)
    args = parser.parse_args()
    if not args.offline and not (args.mcp_url and args.llm_base_url):
        parser.error("give --offline, or --mcp-url and --llm-base-url (and the policy and judge endpoints)")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from scripted_llm import ScriptedLLM

    from gtm_mcp.launch import serve_http

    with ExitStack() as stack:
        tools = str(Path(__file__).resolve().parents[1] / "shop_tools.json")
        mcp_url = args.mcp_url or stack.enter_context(serve_http("--tools", tools)).url
        llm_url = stack.enter_context(ScriptedLLM()).url if args.offline else ""
        groups = asyncio.run(run(args, mcp_url, llm_url))
    for g, group in enumerate(groups):
        task = group.trajectories[0].metadata["task"]
        print(f"scenario {g + 1}: {task[:70]}")
        for t in group.trajectories:
            print(f"  {t.metadata['episode']}: RULER reward {t.reward:.2f}, completed={t.metrics['task_completed']}, "
                  f"tool errors={t.metrics['tool_errors']}, messages={len(t.messages_and_choices)}")
    episodes = {t.metadata["episode"] for group in groups for t in group.trajectories}
    print(f"{len(groups)} groups scored by RULER, {len(episodes)} rollouts, each its own gtm-mcp session")
    return 0


if __name__ == "__main__":
    sys.exit(main())
