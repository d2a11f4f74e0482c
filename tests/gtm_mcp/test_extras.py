"""Console scripts in an install without their extra say which extra to install, in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module, extra", [("coverage_analysis.cli", "coverage")])
def test_a_missing_extra_is_named_not_a_traceback(module: str, extra: str, tmp_path) -> None:
    # Hide the extra's packages: a module of that name that is None makes find_spec report it missing.
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nfor m in ('numpy', 'sklearn', 'sentence_transformers', 'matplotlib', 'torch', "
                       "'transformers', 'trl', 'datasets', 'peft'):\n    sys.modules[m] = None\n")
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import sitecustomize; " \
           f"from {module} import main; sys.exit(main(['--real', 'x', '--simulated', 'y', '--out', 'z']))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert f"pip install 'gtm-mcp[{extra}]'" in done.stderr and "Traceback" not in done.stderr
