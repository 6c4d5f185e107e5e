"""The rule engine says what the golden file recorded (tests/rules_golden/golden.json).

The file holds a fixed corpus (the labelled set, the saved real pages, the near-duplicate
stories, the demo articles, tricky texts), three rule sets (the shipped rules as they were,
47 topic rules, the test rules) and everything the engine said about them: every verdict,
matched clause and snippet, every reason a rule failed, the words of every text and the
readings and stems of every word. Regenerate it only for a deliberate change, with
`python tests/rules_golden/record.py`, and say why in the commit.
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "rules_golden"
sys.path.insert(0, str(HERE))

import record  # noqa: E402


def test_the_engine_reproduces_the_golden_file() -> None:
    golden = json.loads((HERE / "golden.json").read_text(encoding="utf-8"))
    found = record.outcomes(golden["rules"], golden["texts"])
    assert sum(len(matches) for entry in found["verdicts"].values()
               for name, matches in entry.items() if "/" not in name) > 1000
    differences = record.differences({key: golden[key] for key in found}, found)
    assert not differences, "\n".join(differences)
