"""The search index's list of known terms (SQLite: what a wildcard is looked up as) when the
articles' transactions remember the terms they wrote."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage import search_index, signatures
from storage.records import NewArticle
from storage.repository import Repository

NOW = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)


def _article(n: int, text: str) -> NewArticle:
    url = f"https://waha.example/{n}"
    return NewArticle(source="waha", url=url, fetched_url=url,
                      title=f"خبر رقم {n}", text=text, language="ar",
                      content_fingerprint=f"{n:064x}", fetched_at=NOW)


def _known(repo: Repository, prefix: str) -> list[str]:
    with repo.db.session() as session:
        return search_index.known_terms(session, prefix, 50) or []


def test_a_term_of_a_rolled_back_article_is_written_by_the_next_one(tmp_path, monkeypatch):
    repo = Repository(f"sqlite:///{tmp_path}/t.db")
    try:
        first = repo.articles.save(_article(1, "استقبل الوزير وفد غرفة التجارة في الرياض"))
        assert first.status == "new"
        assert "التجاره" in _known(repo, "التجا")

        def broken(*_args, **_kwargs):
            raise RuntimeError("the disk is full")
        monkeypatch.setattr(signatures, "index_in", broken)
        with pytest.raises(RuntimeError):  # after its terms were written: all rolled back
            repo.articles.save(_article(2, "افتتح معرض الزمرد والياقوت في جدة"), index=object())
        monkeypatch.undo()
        assert _known(repo, "الزمر") == []

        third = repo.articles.save(_article(3, "يعرض الزمرد الكولومبي في المعرض التجارة"))
        assert third.status == "new"
        assert "الزمرد" in _known(repo, "الزمر")  # not taken for known by the rolled-back one
        assert "التجاره" in _known(repo, "التجا")
        with repo.db.session() as session:  # every stored article is found by its terms
            for term, article_id in (("الزمرد", third.article_id), ("التجاره", first.article_id),
                                     ("التجاره", third.article_id)):
                found = session.connection().exec_driver_sql(
                    "SELECT rowid FROM article_terms WHERE article_terms MATCH ?",
                    (f'"{term}"',)).scalars().all()
                assert article_id in found
    finally:
        repo.close()
