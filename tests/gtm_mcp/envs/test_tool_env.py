"""The in-process gym-style environment: the gymnasium step/reset contract, one session per
episode (consistent within, isolated between), hidden context, vector stepping, episode records."""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLE_TOOLS

from gtm_mcp.contract.records import EpisodeRecord
from gtm_mcp.envs import ActionError, ToolEnv, VectorToolEnv


def test_reset_step_contract_and_consistency_within_an_episode() -> None:
    rewards = []

    def reward_fn(episode, action, result):
        value = 1.0 if result is not None and not result.is_error else 0.0
        rewards.append(value)
        return value

    env = ToolEnv.from_settings(tools=[str(EXAMPLE_TOOLS)], seed=5, max_steps=4, reward_fn=reward_fn)
    observation, info = env.reset(options={"hidden_context": json.dumps({"temperature": 31.5})})
    assert observation == "" and any(t["function"]["name"] == "get_order" for t in info["tools"])
    text, reward, terminated, truncated, step_info = env.step(
        {"tool": "create_order", "arguments": {"product": "desk", "quantity": 2}})
    order = json.loads(text)
    assert (reward, terminated, truncated) == (1.0, False, False) and step_info["structured"] == order
    # an OpenAI tool call as the action: arguments as JSON text
    text, *_ = env.step({"type": "function", "function": {"name": "get_order",
                                                           "arguments": json.dumps({"order_id": order["order_id"]})}})
    assert json.loads(text)["product"] == "desk"
    text, reward, _, _, step_info = env.step({"tool": "get_weather", "arguments": {"city": 7}})
    assert step_info["is_error"] and "[wrong type]" in text and reward == 0.0
    text, _, _, truncated, _ = env.step({"tool": "get_weather", "arguments": {"city": "Oslo"}})
    assert json.loads(text)["temperature"] == 31.5 and truncated  # hidden context; max_steps reached
    with pytest.raises(ActionError, match="over"):
        env.step({"final": "late"})
    record = env.record()
    assert [c.tool for c in record.calls] == ["create_order", "get_order", "get_weather", "get_weather"]
    assert EpisodeRecord.from_json_line(record.to_json_line()).calls == record.calls
    env.close()


def test_episodes_are_isolated_and_end_with_a_final_answer() -> None:
    env = ToolEnv.from_settings(seed=1)
    env.reset()
    first = json.loads(env.step({"tool": "create_order", "arguments": {"product": "a", "quantity": 1}})[0])
    _, _reward, terminated, _, info = env.step({"final": "ordered"})
    assert terminated and info["final"] == "ordered"
    env.reset()
    listed = env.step({"tool": "list_orders", "arguments": {}})[0]
    assert first["order_id"] not in listed
    with pytest.raises(ActionError):
        env.step({"arguments": {}})
    env.close()


def test_vector_env_steps_many_episodes_concurrently() -> None:
    env = VectorToolEnv.from_settings(16, seed=2, max_steps=None)
    _observations, infos = env.reset()
    assert len({i["episode"] for i in infos}) == 16
    created = env.step([{"tool": "create_order", "arguments": {"product": f"p{i}", "quantity": i + 1}}
                        for i in range(16)])[0]
    ids = [json.loads(c)["order_id"] for c in created]
    reads = env.step([{"tool": "get_order", "arguments": {"order_id": order_id}} for order_id in ids])[0]
    assert [json.loads(r)["product"] for r in reads] == [f"p{i}" for i in range(16)]
    lists = env.step([{"tool": "list_orders", "arguments": {}}] * 16)[0]
    for i, listing in enumerate(lists):
        assert ids[i] in listing and not any(ids[j] in listing for j in range(16) if j != i)
    assert len(env.record(3).calls) == 3
    env.close()
