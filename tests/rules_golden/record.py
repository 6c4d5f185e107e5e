"""Record what the watch-rule engine says about a fixed corpus: the golden file of its tests.

Run: python tests/rules_golden/record.py [--check]. Without --check it (re)writes
tests/rules_golden/golden.json; with --check it compares the engine with the file and prints
the first differences (exit 1 when any). tests/test_rules_golden.py does the same check.

The file holds its own inputs (rules and texts), so it stays a fixed reference when the test
data elsewhere changes: the labelled set (tests/rules_eval/), the saved real pages
(tests/pages/real/), the near-duplicate stories (tests/neardup/), the demo articles and the
tricky texts of the rule and Arabic tests. For each rule set and text it keeps every verdict
(`RuleSet.evaluate`: rule ids, matched clauses, snippets; `RuleSet.explain`: every rule's
verdict and reason), and for each text its words (normalised, with their places) and for each
distinct word its readings without proclitics and their light stems.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden.json"
sys.path.insert(0, str(ROOT))

# --- the rules --------------------------------------------------------------------------

BODY = ("عقدت اللجنة الوزارية للحكومة الإلكترونية بدول مجلس التعاون اجتماعها السابع عشر "
        "في الرياض يوم ١٢ مايو ٢٠٢٤م.")

# Queries of the rule tests (tests/test_rules.py, test_rules_cli.py, test_digests.py) and a
# few more shapes: every operator, nesting, punctuation, digits, parentheses around one word.
TEST_QUERIES = [
    "اللجنة الحكومة", "اللجنة AND مسقط", "مسقط OR الرياض", "اللجنة NOT الرياض",
    "اللجنة NOT مسقط", "اللجنة AND NOT (مسقط OR الدوحة)", "(مسقط OR الدوحة) OR (الرياض AND 2024)",
    "الرياض ١٢", "الرياض 13", '"الحكومة الإلكترونية"', '"الإلكترونية الحكومة"',
    '"اللجنة الوزارية" "مجلس التعاون"', "مجلس-التعاون", "مسقط OR الرياض AND الدوحة",
    "(مسقط OR الرياض) AND اللجنة", "الحكومة الالكترونية", "الحُكومة الإلكترونيّة",
    "الحكومه الإلكترونيه", "حكومة", "الإلكترونيـة", '"للحكومة الإلكترونية"', "مجلس التعاون",
    "دول", "لجنة", "اللجنة", "الحكومة", "اجتماع", "اجتماع*", "~اجتماع", "~ورشة", "~خليجي",
    '"e-government committee"', "~meeting", "~ministry", "digit*", "meeting",
    "gcc and committee", "اللجنة NEAR/1 الوزارية", "الوزارية NEAR/1 اللجنة",
    "اللجنة NEAR/3 الإلكترونية", "اللجنة NEAR/2 الإلكترونية",
    '(الوزارية OR التنفيذية) NEAR/4 ("الحكومة الرقمية" OR الإلكترونية)',
    "اللجنة NEAR/3 الحكومة NEAR/4 التعاون", '"اللجنة الوزارية"', "اللجنة الوزارية",
    '"~حكومة ~إلكترونية" NEAR/6 (~لجنة OR اجتماع*)', "~حج OR ~بيت OR ~وزارة",
    "(اجتماع* OR ~ministry) AND NOT رياضة", '"دول مجلس التعاون" OR ~خليجي',
    "الاجتماع NEAR/3 (الحكومة OR ~committee)", '"الحكومة الإلكترونية" NOT رياضة', "مجلس",
    "committee", '"الحكومة الالكترونية" AND (مسقط OR الرياض)', "(اجتماع) AND (مجلس OR لجنة)",
    '(~لجنة OR اجتماع*) NEAR/6 "~حكومة ~إلكترونية" AND "مجلس التعاون"',
    '"كأس الخليج" NOT ~تذكرة', '"كأس الخليج" NOT ~تدريب', '"الأمن السيبراني" OR ~سيبراني',
    '"اللجنة الوزارية" OR "~الحكومة ~الإلكترونية" OR "e-government"', "~ورشة OR ~ملتقى OR ~منتدى",
    "~لجنة NEAR/6 اجتماعها", '"الحادي عشر"', "2024 OR ٢٠٢٥", '"Information & eGovernment"',
    "(~لجنة OR فريق) NEAR/2 (~عمل OR ~حكومة) NEAR/10 (~خليجي OR التعاون)",
    "((اللجنة OR الفريق) NEAR/5 (الحكومة OR التعاون)) NOT (رياضة OR كرة)",
    "“الحكومة الرقمية” OR «مجلس التعاون»", "GCC OR Gulf OR خليج*", "~summit OR forum*",
    "اللجنة NEAR/100 الرياض", "الحك*", "والحكومة", "للجنة", "جنة", "صحفي",
]


def _specs_file(path: Path) -> list[dict]:
    return [{key: entry[key] for key in ("id", "name", "query", "languages", "fields", "enabled")
             if key in entry} for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]]


def rule_sets() -> dict[str, list[dict]]:
    """The rule sets, as plain specs (WatchRule keyword arguments)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_rules import TOPICS

    tests = [{"id": f"t{at}", "name": f"T{at}", "query": query}
             for at, query in enumerate(TEST_QUERIES)]
    tests += [{"id": f"title{at}", "name": "Title only", "query": query, "fields": ["title"]}
              for at, query in enumerate(['"اللجنة الوزارية"', "اللجنة", "~خليجي OR GCC"])]
    tests += [{"id": f"body{at}", "name": "Body only", "query": query, "fields": ["body"]}
              for at, query in enumerate(['"اللجنة الوزارية"', "اللجنة الوزارية"])]
    tests += [
        {"id": "lang-ar", "name": "Arabic", "query": '"الحكومة الإلكترونية" NOT رياضة',
         "languages": ["ar"]},
        {"id": "lang-en", "name": "English", "query": "committee OR government", "languages": ["en"]},
        {"id": "off", "name": "Off", "query": "مجلس", "enabled": False},
    ]
    return {
        "shipped": _specs_file(ROOT / "config" / "rules.yaml"),
        "topics": [{"id": f"topic-{at}", "name": f"Topic {at}", "query": query}
                   for at, query in enumerate(TOPICS)],
        "tests": tests,
    }


# --- the texts --------------------------------------------------------------------------

TRICKY = [
    ("", BODY), ("", BODY + " في بطولة رياضة"), ("", BODY + " committee"),
    ("اجتماع اللجنة الوزاريّة للحكومة الإلكترونيّة", BODY),
    ("", "GCC and the committee"), ("", "GCC committee"),
    *[("", f"قال إن {word} ماضية") for word in (
        "والحكومة", "بالحكومة", "للحكومة", "فالحكومة", "كالحكومة", "وبالحكومة", "الحكومة",
        "حكومة", "وللحكومة")],
    ("", "للحكومة"), ("", "وبالحكومة"), ("", "حكومة قطر"), ("", "الاجتماعات الدورية"),
    ("", "خلال اجتماعاتها"), ("", "ورشتا عمل"), ("", "الدول الخليجية"),
    ("", "المسؤولين الخليجيين"), ("GCC E-Government Committee meets", ""),
    ("", "The committee held two meetings"), ("", "ministries of the six states"),
    ("", "Digital Government Authority"), ("اللجنة", "الوزارية"),
    ("", " ".join(["مجلس التعاون"] * 200)),
    ("أمطار غزيرة على الرياض", "توقع المركز الوطني للأرصاد هطول أمطار."),
    ("", "عقدت اللجنةُ الوزاريةُ لدول مجلس التعاون اجتماعَها الحادي عشر"),
    ("", "عقدت اللجنة الوزارية للحكومة الإلكترونية اجتماعها في ٢٠٢٤م."),
    ("", "وَعُقِدَ الاجتمـــاعُ، في «الرياض» يوم ١٥ مايو ٢٠٢٤م — بمشاركة هيئة الحكومة الرقمية."),
    ("", "الحُكُومَةُ الإِلِكْتْرُونِيَّةُ ١٤٤٦هـ"), ("", "٢َ٤ عددٌ"),
    ("", "نظام\u200cإلكتروني و\u200bمنصة"),
    ("", "The GCC e-Government Committee's 5th meeting in İstanbul"),
    ("", "Café résumé Ⅻ² — naïve"),
    ("", "دول المجلس.\nوناقش الاجتماع — ٢٠٢٤م –\n\nالخطة.\n(٢)\nواعتمدت اللجنة"),
    ("", "عقدت\xa0اللجنة\t(١٢)، e-Government؛\u200bمنصة (٢َ٤) «الرياض»\u200b"),
    ("", "  عقدت  اللجنة،الوزارية (اجتماعها) في ٢٠٢٤م.  "),
    ("", "أكّدَ مُحافِظُ هيئةِ الحكومةِ الرقميّةِ أنّ الخدماتِ ١٠٠٪ رقميّةٌ"),
    ("", "والحكومة بالحكومة للحكومة حكومة الحكومة للجنة واللجنة اجتماعاً ودول بمجلس gcc"),
    ("", "اجتماعاً واجتماعاً صحفياً مؤتمراً صحفياً بيتها لبيتها ministries والخليجيين للاجتماعات"),
    ("", "ΣΟΦΙΑ ΑΣ İİ 𝐀𝐁𝐂 \U0001F600 e\u0301 ﻻ"),
    ("ورشة عمل عن الأمن السيبراني في مسقط",
     "نظّمت وزارة النقل والاتصالات وتقنية المعلومات ورشة عمل عن الأمن السيبراني للجهات "
     "الحكومية في سلطنة عُمان."),
    ("المنتخب يستعد لكأس الخليج",
     "يواصل المنتخب الوطني لكرة القدم التدريبات استعداداً لبطولة كأس الخليج، بمشاركة جميع "
     "اللاعبين المحترفين في الدوري. ولم تبق تذكرة واحدة."),
    ("انطلاق اجتماع اللجنة الوزارية للحكومة الإلكترونية لدول مجلس التعاون في الرياض",
     "الرياض ١٥ ذو القعدة ١٤٤٦ هـ الموافق ١٣ مايو ٢٠٢٥ م واس عقدت اللجنةُ الوزاريةُ "
     "للحكومة الإلكترونية بدول مجلس التعاون لدول الخليج العربية اجتماعها الحادي عشر "
     "برئاسة المملكة، وناقشت مؤشرات التحول الرقمي والخدمات الحكومية المشتركة."),
    ("GCC e-government ministerial committee meets in Riyadh",
     "RIYADH: The GCC e-government ministerial committee held its 11th meeting on Tuesday."),
    ("", "اللجنة " + "كلمة " * 120 + "الرياض"),
    ("", " ".join(["اللجنة", "الحكومة"] * 300)),
]


def _language(text: str) -> str:
    return "ar" if any("\u0621" <= char <= "\u064a" for char in text) else "en"


def texts() -> list[dict]:
    """Every text: id, title, body, language (None: unknown)."""
    found = [{"id": f"tricky-{at}", "title": title, "body": body, "language": None}
             for at, (title, body) in enumerate(TRICKY)]
    cases = yaml.safe_load((ROOT / "tests" / "rules_eval" / "gcc_egov.yaml")
                           .read_text(encoding="utf-8"))["cases"]
    found += [{"id": f"eval-{case['id']}", "title": case["title"], "body": case["body"],
               "language": case["language"]} for case in cases]
    for path in sorted((ROOT / "tests" / "pages" / "real").glob("*.expected.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        found.append({"id": f"page-{path.name.split('.')[0]}", "title": title, "body": body,
                      "language": "en" if "_en_" in path.name else "ar"})
    for name in ("stories_gcc_egov", "stories_templates"):
        stories = yaml.safe_load((ROOT / "tests" / "neardup" / f"{name}.yaml")
                                 .read_text(encoding="utf-8"))["articles"]
        found += [{"id": f"story-{key}", "title": story["title"], "body": story["text"],
                   "language": _language(story["text"])} for key, story in stories.items()]
    demo = yaml.safe_load((ROOT / "monitor" / "demo" / "articles.yaml")
                          .read_text(encoding="utf-8"))["articles"]
    found += [{"id": f"demo-{article['slug']}", "title": article["title"],
               "body": "\n".join([article.get("dateline") or "", *article["paragraphs"]]),
               "language": _language(article["title"])} for article in demo]
    return found


# --- what the engine says ----------------------------------------------------------------

def outcomes(sets: dict[str, list[dict]], corpus: list[dict]) -> dict:
    """Every verdict of every rule set on every text, and the words of every text.

    A text's verdicts per rule set: {rule id: [clauses, snippets]} of the rules that matched
    (the test rules only on the tricky and labelled texts); under "<set>/explain" (the shipped
    and test rules) [reason, snippets] of every rule that did not match, and of one that did
    when its reason is not "matched: " + its clauses. Words: those of the tricky texts in full,
    of the others as a digest.
    """
    from monitor.arabic import light_stem, normalize, strip_proclitics, tokenize
    from monitor.rules import RuleSet, WatchRule

    built = {name: RuleSet(WatchRule(**spec) for spec in specs) for name, specs in sets.items()}
    verdicts: dict[str, dict] = {}
    words: dict[str, dict] = {}
    distinct: set[str] = set()
    for text in corpus:
        title, body, language = text["title"], text["body"], text["language"]
        entry: dict = {}
        for name, rules in built.items():
            if name == "tests" and not text["id"].startswith(("tricky-", "eval-")):
                continue
            matches = {match.rule_id: [match.clauses, match.snippets]
                       for match in rules.evaluate(title, body, language)}
            entry[name] = matches
            if name == "topics":
                continue
            entry[f"{name}/explain"] = explain = {}
            for verdict in rules.explain(title, body, language):
                if verdict.matched:
                    assert matches[verdict.rule_id] == [verdict.clauses, verdict.snippets]
                    if verdict.reason == "matched: " + " · ".join(verdict.clauses):
                        continue
                explain[verdict.rule_id] = [verdict.reason, verdict.snippets]
        verdicts[text["id"]] = entry
        tokens = [token for field in (title, body) for token in tokenize(field)]
        found = {"normalized": [normalize(title), normalize(body)],
                 "tokens": [[t.norm, t.start, t.end] for t in tokens]}
        if not text["id"].startswith("tricky-"):  # long texts: a digest
            found = {key: _digest(value) for key, value in found.items()}
        words[text["id"]] = found
        distinct.update(token.norm for token in tokens)
    readings = {norm: [[form, light_stem(form)] for form in strip_proclitics(norm)]
                for norm in sorted(distinct)}
    return {"verdicts": verdicts, "words": words, "readings": readings}


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode()).hexdigest()


def record() -> dict:
    """The golden data: inputs and outcomes."""
    sets, corpus = rule_sets(), texts()
    return {"rules": sets, "texts": corpus, **outcomes(sets, corpus)}


def differences(expected: dict, found: dict, limit: int = 20) -> list[str]:
    """Where `found` differs from `expected` (the golden), first `limit` places."""
    out: list[str] = []

    def walk(a: object, b: object, where: str) -> None:
        if len(out) >= limit or a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(dict.fromkeys([*a, *b])):
                walk(a.get(key), b.get(key), f"{where}/{key}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for at, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{where}[{at}]")
        else:
            out.append(f"{where}:\n  golden: {json.dumps(a, ensure_ascii=False)[:600]}\n"
                       f"  now:    {json.dumps(b, ensure_ascii=False)[:600]}")

    walk(expected, found, "")
    return out


def dumps(data: dict) -> str:
    """JSON with one line per rule set, text, and text's verdicts or words: diffs stay readable."""
    def block(value: dict) -> str:
        return "{\n" + ",\n".join(f"{json.dumps(key, ensure_ascii=False)}: "
                                  f"{json.dumps(item, ensure_ascii=False)}"
                                  for key, item in value.items()) + "\n}"

    parts = [f'"rules": {block(data["rules"])}',
             '"texts": [\n' + ",\n".join(json.dumps(t, ensure_ascii=False)
                                          for t in data["texts"]) + "\n]",
             f'"verdicts": {block(data["verdicts"])}', f'"words": {block(data["words"])}',
             f'"readings": {json.dumps(data["readings"], ensure_ascii=False)}']
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    if args.check:
        golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
        found = outcomes(golden["rules"], golden["texts"])
        diff = differences({key: golden[key] for key in found}, found)
        print("\n".join(diff) or "the engine reproduces the golden file")
        return 1 if diff else 0
    data = record()
    GOLDEN.write_text(dumps(data), encoding="utf-8")
    print(f"wrote {GOLDEN}: {len(data['texts'])} texts, "
          f"{sum(len(specs) for specs in data['rules'].values())} rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
