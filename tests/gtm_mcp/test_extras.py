"""Console scripts in an install without their extra say which extra to install, in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module, extra, argv", [
    ("coverage_analysis.cli", "coverage", ["--real", "x", "--simulated", "y", "--out", "z"]),
    ("synthesis.cli", "synthesis", ["export", "in", "-o", "out"]),
    ("training.cli", "train", ["sft", "--data", "x", "--output", "y"]),
    ("training.evaluation.cli", "train", ["--data", "x", "--sim", "schema", "--out", "y"])])
def test_a_missing_extra_is_named_not_a_traceback(module: str, extra: str, argv: list[str], tmp_path) -> None:
    # Hide the extra's packages: a module of that name that is None makes find_spec report it missing.
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nfor m in ('numpy', 'sklearn', 'sentence_transformers', 'matplotlib', 'torch', "
                       "'transformers', 'trl', 'datasets', 'peft'):\n    sys.modules[m] = None\n")
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import sitecustomize; " \
           f"from {module} import main; sys.exit(main({argv!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert f"pip install 'gtm-mcp[{extra}]'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("flags, extra", [(["--backend", "local", "--model", "smollm2"], "local"),
                                          (["--session-store", "redis"], "redis")])
def test_serve_without_an_extra_says_which_in_one_line(flags: list[str], extra: str, tmp_path) -> None:
    """`gtm-mcp serve` with a backend or session store whose packages the core install lacks."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nfor m in ('torch', 'transformers', 'redis'):\n    sys.modules[m] = None\n")
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import sitecustomize; " \
           f"from gtm_mcp.cli import main; sys.exit(main(['serve', *{flags!r}]))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("gtm-mcp:")]
    assert len(lines) == 1 and f"'gtm-mcp[{extra}]'" in lines[0] and "Traceback" not in done.stderr, done.stderr
