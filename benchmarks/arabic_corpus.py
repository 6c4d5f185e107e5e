"""Realistic Arabic news text for benchmarks: a word-bigram model of the real pages in tests/.

The model is learnt from the saved real pages' expected texts (tests/pages/real/*.expected.txt,
the Arabic ones) and the labelled near-duplicate set (tests/neardup/), and every generated story
opens with an agency dateline and carries the formulaic phrases of Gulf agency copy, so that
unrelated stories share shingles as real ones do. Pure and seeded: the same seed, the same text.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
_ARABIC = re.compile(r"[\u0621-\u064A]")

BOILERPLATE = [
    "مجلس التعاون لدول الخليج العربية", "وكالة الأنباء السعودية", "صاحب السمو الملكي",
    "خادم الحرمين الشريفين", "حفظه الله", "وأكد في تصريح لوكالة الأنباء",
    "بحضور عدد من المسؤولين", "في إطار العلاقات الأخوية بين البلدين الشقيقين",
    "وفي ختام اللقاء", "وتأتي هذه الخطوة في إطار رؤية المملكة 2030",
    "الأمين العام لمجلس التعاون", "على هامش أعمال الدورة", "وزير الخارجية",
    "ونقل تحيات القيادة", "بما يخدم المصالح المشتركة", "وأعرب عن شكره وتقديره",
]
DATELINES = ["الرياض {d} {m} {y} (واس) -", "دبي في {d} {m} / وام /", "المنامة في {d} {m} / بنا /",
             "الكويت - {d} - {n} (كونا) --", "مسقط في {d} {m} /العُمانية/", "الدوحة في {d} {m} /قنا/"]
MONTHS = ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر",
          "أكتوبر", "نوفمبر", "ديسمبر"]


def _training_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "tests/pages/real").glob("*.expected.txt")):
        text = path.read_text(encoding="utf-8")
        if len(_ARABIC.findall(text)) > len(text) / 4:
            texts.append(text)
    for path in sorted((ROOT / "tests/neardup").glob("*.yaml")):
        for article in yaml.safe_load(path.read_text(encoding="utf-8"))["articles"].values():
            if len(_ARABIC.findall(article["text"])) > len(article["text"]) / 4:
                texts.append(article["text"])
    return texts


class BigramModel:
    """Next-word choices seen after each word in the training texts."""

    def __init__(self) -> None:
        self.following: dict[str, list[str]] = defaultdict(list)
        self.starts: list[str] = []
        for text in _training_texts():
            for line in text.splitlines():
                words = line.split()
                if len(words) < 3:
                    continue
                self.starts.append(words[0])
                for a, b in zip(words, words[1:], strict=False):
                    self.following[a].append(b)
        self.words = list(self.following)

    def sentence(self, rng: random.Random, length: int) -> str:
        word = rng.choice(self.starts)
        out = [word]
        for _ in range(length - 1):
            choices = self.following.get(word)
            word = rng.choice(choices) if choices and rng.random() < 0.9 else rng.choice(self.words)
            out.append(word)
        return " ".join(out)

    def story(self, rng: random.Random, words: int = 320) -> tuple[str, list[str]]:
        """A headline and paragraphs: an agency dateline, bigram sentences, agency phrases."""
        dateline = rng.choice(DATELINES).format(d=rng.randint(1, 28), m=rng.choice(MONTHS),
                                                y=rng.choice((2024, 2025)), n=rng.randint(1, 12))
        paragraphs, total = [], 0
        while total < words:
            parts = [self.sentence(rng, rng.randint(12, 30))]
            if rng.random() < 0.6:
                parts.insert(rng.randint(0, 1), rng.choice(BOILERPLATE))
            if rng.random() < 0.3:
                parts.append(f"{rng.randint(2, 950)} {self.sentence(rng, 4)}")
            paragraph = " ".join(parts) + "."
            paragraphs.append(paragraph)
            total += len(paragraph.split())
        paragraphs[0] = f"{dateline} {paragraphs[0]}"
        return self.sentence(rng, rng.randint(6, 12)), paragraphs


def newspaper_copy(rng: random.Random, model: BigramModel, paragraphs: list[str]) -> list[str]:
    """A paper's copy of an agency story: a new first sentence, the end trimmed."""
    body = [model.sentence(rng, 15) + ".", *paragraphs[:max(2, len(paragraphs) - 1)]]
    return body
