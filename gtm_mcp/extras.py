"""Console scripts that need an optional extra say which one, in one line, instead of a traceback."""

from __future__ import annotations

import importlib.util
import sys


def missing_modules(modules: tuple[str, ...]) -> list[str]:
    """The top-level modules of `modules` that are not installed (found without importing them)."""
    missing = []
    for module in modules:
        if module in sys.modules:
            if sys.modules[module] is None:  # blocked: what `import` treats as not installed
                missing.append(module)
        elif importlib.util.find_spec(module) is None:
            missing.append(module)
    return missing


def require_extra(command: str, extra: str, modules: tuple[str, ...]) -> None:
    """Exit with status 2 and one line naming the extra when any of `modules` is missing."""
    missing = missing_modules(modules)
    if missing:
        print(f"{command}: needs the '{extra}' extra ({', '.join(missing)} not installed): "
              f"pip install 'gtm-mcp[{extra}]'", file=sys.stderr)
        raise SystemExit(2)
