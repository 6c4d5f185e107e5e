"""Fault points: named places where the fault-injection tests kill raqib, as kill -9 would.

`fault_point("crawl:after-article-commit")` does nothing in normal runs. When the environment
variable RAQIB_FAULT names that point (``RAQIB_FAULT=crawl:after-article-commit``, or with a
count, ``…:3`` for the third time the process passes there), the process sends itself SIGKILL
at once: no `finally`, no atexit, no flush — the crash the point stands for. Tests start a
child process with the variable set and then check that nothing was lost or stored twice.

The variable is read once, at import; a process without it pays one comparison per point.
"""

from __future__ import annotations

import os
import signal

__all__ = ["fault_point"]


def _armed() -> tuple[str | None, int]:
    value = os.environ.get("RAQIB_FAULT", "").strip()
    if not value:
        return None, 0
    name, _, count = value.rpartition(":")
    if name and count.isdigit():
        return name, int(count)
    return value, 1


_POINT, _AT = _armed()
_passes = 0


def fault_point(name: str) -> None:
    """Die here (SIGKILL) when RAQIB_FAULT names this point; otherwise do nothing."""
    global _passes
    if name != _POINT:
        return
    _passes += 1
    if _passes >= _AT:
        os.kill(os.getpid(), signal.SIGKILL)
