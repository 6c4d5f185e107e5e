"""Part of `Repository`: re-running the watch rules over stored articles.

`raqib rules test --stored` and `raqib rules apply` go through stored articles in batches,
so that a large archive is never loaded at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from storage.models import Article, RuleMatchRow, utcnow

if TYPE_CHECKING:
    from storage.repository import ArticleView


class RuleReview:
    """Stored articles in batches, and their matches brought up to date."""

    def article_batches(self, *, since: datetime | None = None, source: str | None = None,
                        limit: int | None = None,
                        batch_size: int = 200) -> Iterator[list[ArticleView]]:
        """Stored articles, oldest first, in batches, with their stored rule matches."""
        newest = func.coalesce(Article.published_at, Article.fetched_at)
        query = select(Article.id).order_by(Article.id)
        if since:
            query = query.where(newest >= since)
        if source:
            query = query.where(Article.source == source)
        if limit:
            query = query.limit(limit)
        with self.session() as session:
            ids = list(session.scalars(query))
        for start in range(0, len(ids), batch_size):
            batch = self.articles(ids=ids[start:start + batch_size], limit=None)
            yield sorted(batch, key=lambda article: article.id)

    def update_rule_matches(self, article_id: int, matches: Iterable[dict]) -> None:
        """Bring an article's stored matches to `matches` (each a `rule_id` and its explanation).

        Unlike `save_rule_matches`, a match that stays keeps its `matched_at`: digests go by it,
        and re-running the rules must not make old news look new.
        """
        wanted = {match["rule_id"]: match for match in matches}
        with self.session() as session:
            rows = {row.rule_id: row for row in session.scalars(
                select(RuleMatchRow).where(RuleMatchRow.article_id == article_id))}
            for rule_id, row in rows.items():
                if rule_id not in wanted:
                    session.delete(row)
                elif row.explanation != wanted[rule_id]:
                    row.explanation = wanted[rule_id]
            session.add_all(RuleMatchRow(article_id=article_id, rule_id=rule_id, explanation=match,
                                         matched_at=utcnow())
                            for rule_id, match in wanted.items() if rule_id not in rows)

