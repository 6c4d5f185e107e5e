"""The watch-rule engine gives the same verdicts compiled (mypyc, setup.py) and from its sources.

The engine runs compiled when the install could compile it; RAQIB_PURE_PYTHON=1 makes a process
use the .py files. Both must agree on every rule, clause and snippet of the labelled set.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import monitor

ROOT = Path(__file__).resolve().parent.parent

# Prints every verdict of the shipped rules and the benchmark's 50 rules on the labelled set.
VERDICTS = """
import json, sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {tests!r})
import monitor
from bench_rules import fifty_rules
from test_rules_eval import load_cases
rules = fifty_rules()
out = {{"compiled": monitor.rule_engine_compiled(), "verdicts": []}}
for case in load_cases():
    title, body = case.get("title", ""), case.get("body", case.get("text", ""))
    out["verdicts"].append([m.to_dict() for m in rules.evaluate(title, body, case.get("language"))])
    out["verdicts"].append([v.to_dict() for v in rules.explain(title, body)])
print(json.dumps(out, ensure_ascii=False))
"""


def _verdicts(pure: bool) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "RAQIB_PURE_PYTHON"}
    if pure:
        env["RAQIB_PURE_PYTHON"] = "1"
    script = VERDICTS.format(root=str(ROOT / "benchmarks"), tests=str(ROOT / "tests"))
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout)


def test_pure_python_engine_agrees_with_the_installed_one() -> None:
    installed, pure = _verdicts(pure=False), _verdicts(pure=True)
    assert pure["compiled"] is False
    assert installed["compiled"] is monitor.rule_engine_compiled()
    assert len(pure["verdicts"]) > 80
    assert any(pure["verdicts"][0::2])  # some rule matched: the comparison says something
    assert installed["verdicts"] == pure["verdicts"]
