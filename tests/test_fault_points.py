"""The fault-injection hook the kill tests rely on: it kills only where and when it is told to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.conftest import ROOT

PROGRAM = """
from monitor.faults import fault_point
for step in range(5):
    fault_point("demo:step")
    print(step, flush=True)
fault_point("demo:never-reached-twice")
print("done", flush=True)
"""


def _run(fault: str | None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "RAQIB_FAULT"}
    if fault is not None:
        env["RAQIB_FAULT"] = fault
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          env=env, timeout=60)


def test_without_the_variable_nothing_happens():
    done = _run(None)
    assert done.returncode == 0 and done.stdout.split() == ["0", "1", "2", "3", "4", "done"]


def test_a_named_point_kills_the_process_at_its_first_pass():
    done = _run("demo:step")
    assert done.returncode == -signal.SIGKILL and done.stdout == ""


def test_a_count_kills_at_that_pass():
    done = _run("demo:step:3")
    assert done.returncode == -signal.SIGKILL and done.stdout.split() == ["0", "1"]


def test_another_point_name_is_left_alone():
    done = _run("demo:other")
    assert done.returncode == 0 and done.stdout.split()[-1] == "done"
