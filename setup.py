"""Build hook: compile the watch-rule engine with mypyc when it can be, else stay pure Python.

Everything else about the package is in pyproject.toml. The four modules below run on every
stored article (monitor/rules.py: 50 rules must cost under 5% of trafilatura's extraction);
compiled, they run about 1.5 times faster. They are plain, type-checked Python either way:
a machine without a C compiler, or RAQIB_PURE_PYTHON=1 at install time, gets the same
behaviour from the .py files. monitor/__init__.py falls back to the sources when a compiled
module is older than its .py (an edit after `pip install -e .`). monitor/_words.c, a small C
module that reads an article's words in one pass, is built beside them on the same terms.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

COMPILED = ["monitor/arabic.py", "monitor/query.py", "monitor/matching.py", "monitor/rules.py"]


class OptionalBuildExt(build_ext):
    """A failed compilation is a warning: the package then runs from its Python sources."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # noqa: BLE001 - any compiler failure means "stay pure"
            _warn(f"compiling the rule engine failed ({error}); installing pure Python")

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as error:  # noqa: BLE001
            _warn(f"compiling {ext.name} failed ({error}); it stays pure Python")


def _warn(message: str) -> None:
    print(f"raqib setup: {message}", file=sys.stderr)


# A plain C module that reads an article's words in one pass (monitor/_words.c). Optional
# like the rest: monitor.arabic reads them in Python without it.
WORDS = Extension("monitor._words", ["monitor/_words.c"], optional=True)


def _extensions() -> list:
    if os.environ.get("RAQIB_PURE_PYTHON"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _warn("mypyc is not installed; installing pure Python")
        return [WORDS]
    try:
        # One shared library inside the package (not a top-level module beside it), so that
        # editable and regular installs import it the same way.
        return [*mypycify(COMPILED, opt_level="3", group_name="monitor._rule_engine"), WORDS]
    except (Exception, SystemExit) as error:  # noqa: BLE001 - a mypyc type error exits; it must not block installing
        _warn(f"mypyc could not compile the rule engine ({error}); installing pure Python")
        return [WORDS]


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
