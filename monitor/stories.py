"""Stories: near-duplicate copies of one report grouped together, the first-stored copy leading."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from storage.records import StoredArticle


@dataclass
class Story:
    """One news story: the copy shown first and the other sources that carried it."""

    lead: StoredArticle
    others: list[StoredArticle] = field(default_factory=list)

    @property
    def articles(self) -> list[StoredArticle]:
        return [self.lead, *self.others]

    @property
    def key(self) -> int:
        """The story's id: the id of its first-stored article (its `cluster`)."""
        return self.lead.cluster or self.lead.id


def story_key(article: StoredArticle) -> int:
    """The id of the first-stored article of an article's story (its own id when alone)."""
    return article.cluster or article.id


def group_copies(articles: Iterable[StoredArticle]) -> list[list[StoredArticle]]:
    """Articles grouped by story, each group in storage order, groups in first-seen order."""
    by_story: dict[int, list[StoredArticle]] = {}
    for article in articles:
        by_story.setdefault(story_key(article), []).append(article)
    return [sorted(copies, key=lambda a: a.id) for copies in by_story.values()]
