"""raqib monitor package.

The watch-rule engine (arabic, query, matching, rules) may be compiled by mypyc at install time
(setup.py). Compiled modules only work together, so all four run from their Python sources
when RAQIB_PURE_PYTHON is set or when any compiled one is older than its source (an edit after
`pip install -e .`: otherwise the stale binary would silently win over the edited file).
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

RULE_ENGINE = ("arabic", "query", "matching", "rules")  # in import order


def _binaries(here: Path, name: str) -> list[Path]:
    return [path for suffix in EXTENSION_SUFFIXES if (path := here / f"{name}{suffix}").exists()]


def _load_rule_engine_sources() -> None:
    here = Path(__file__).parent
    binaries = {name: _binaries(here, name) for name in RULE_ENGINE}
    if not any(binaries.values()):
        return
    stale = any(binary.stat().st_mtime < (here / f"{name}.py").stat().st_mtime
                for name, found in binaries.items() for binary in found)
    if not (stale or os.environ.get("RAQIB_PURE_PYTHON")):
        return
    for name in RULE_ENGINE:
        spec = spec_from_file_location(f"{__name__}.{name}", here / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = sys.modules[spec.name] = module_from_spec(spec)
        spec.loader.exec_module(module)


def rule_engine_compiled() -> bool:
    """Whether the watch-rule engine runs compiled (mypyc) rather than from its sources."""
    from monitor import rules

    return not (rules.__file__ or "").endswith(".py")


_load_rule_engine_sources()
