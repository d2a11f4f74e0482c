"""examples/testing_workflow runs as a user would run it: its own pytest suite against a hybrid
server (a real notes server process, simulated weather), recorded, then replayed offline."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO


def test_the_testing_workflow_example_records_then_replays() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "examples/testing_workflow/run.py"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=280)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert "5 passed, 1 skipped" in out and "6 passed" in out  # the same suite: recorded, then replayed
    assert "real notes written: 3" in out
    assert "cassette: 3 episodes, 6 calls (3 real, 3 simulated)" in out
    assert 'Replay: the call get_weather {"city":"Atlantis"} was never recorded' in out
    assert not (REPO / "examples" / "testing_workflow" / "cassettes").exists()  # the run left the tree clean
