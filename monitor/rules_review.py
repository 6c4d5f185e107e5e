"""Reviewing watch rules: explain them on a text, and re-run them over stored articles.

`raqib rules test` and `raqib rules apply` call these; they print, this module decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.rules import RuleSet, RuleVerdict


def split_title_body(text: str) -> tuple[str, str]:
    """A text as `rules test` reads it: the first non-empty line is the title, the rest the body."""
    lines = text.strip().splitlines()
    if not lines:
        return "", ""
    return lines[0].strip(), "\n".join(lines[1:]).strip()


def detect_language(text: str) -> str | None:
    """`ar` or `en` by script, as the crawler decides for an article (None: cannot tell)."""
    from crawler.extraction import detect_language as by_script  # the extraction stack: lazily

    return by_script(text)


def explain_text(rules: RuleSet, title: str, body: str, language: str | None,
                 rule_id: str | None = None, *, source: str | None = None,
                 country: str | None = None, kind: str | None = None) -> list[RuleVerdict]:
    """Every rule's verdict on a text (or only `rule_id`'s), with its reason; `source`,
    `country` and `kind` are what `source:`, `country:` and `kind:` clauses compare with."""
    if rule_id is not None:
        rule = rules.get(rule_id)
        if rule is None:
            known = ", ".join(r.id for r in rules) or "none"
            raise KeyError(f"no rule '{rule_id}' (known: {known})")
        rules = RuleSet([rule])
    return rules.explain(title, body, language, source=source, country=country, kind=kind)


@dataclass
class Change:
    """What re-running the rules would do to one stored article."""

    article_id: int
    title: str | None
    added: list[str]
    removed: list[str]
    matches: list[dict[str, Any]] = field(repr=False, default_factory=list)


@dataclass
class Review:
    """Re-running the rules over stored articles: how many were looked at, and the changes."""

    articles: int = 0
    flagged: int = 0  # articles that match at least one rule after the re-run
    changes: list[Change] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(len(change.added) for change in self.changes)

    @property
    def removed(self) -> int:
        return sum(len(change.removed) for change in self.changes)


def review_stored(rules: RuleSet, repository, *, since: datetime | None = None,
                  source: str | None = None, limit: int | None = None,
                  sources: Mapping[str, Any] | None = None) -> Review:
    """Re-evaluate the rules over stored articles, oldest first; writes nothing.

    A change lists rule ids gained and lost; an article whose rules stay the same but whose
    stored explanations differ (a rule's query was edited) is a change with no ids. `sources`
    (config Sources by id) give the country and kind of each article's source.
    """
    review = Review()
    for batch in repository.articles.batches(since=since, source=source, limit=limit):
        for article in batch:
            review.articles += 1
            known = (sources or {}).get(article.source)
            matches = [m.to_dict() for m in rules.evaluate(
                article.title or "", article.text, article.language, source=article.source,
                country=getattr(known, "country", None), kind=getattr(known, "kind", None))]
            review.flagged += bool(matches)
            change = _change(article, matches)
            if change is not None:
                review.changes.append(change)
    return review


def apply_stored(rules: RuleSet, repository, *, since: datetime | None = None,
                 sources: Mapping[str, Any] | None = None) -> Review:
    """Re-evaluate the rules over stored articles and store the matches that changed."""
    review = review_stored(rules, repository, since=since, sources=sources)
    for change in review.changes:
        repository.articles.update_matches(change.article_id, change.matches)
    return review


def _change(article, matches: Iterable[dict[str, Any]]) -> Change | None:
    new = {match["rule_id"]: match for match in matches}
    old: dict[str, dict] = {rule_id: article.explanations.get(rule_id) or {"rule_id": rule_id}
                            for rule_id in article.rules}
    added = [rule_id for rule_id in new if rule_id not in old]
    removed = [rule_id for rule_id in old if rule_id not in new]
    explained = any(old[rule_id] != match for rule_id, match in new.items() if rule_id in old)
    if not (added or removed or explained):
        return None
    return Change(article.id, article.title, added, removed, list(new.values()))
