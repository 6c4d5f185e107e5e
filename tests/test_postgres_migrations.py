"""Migrations upgrade a database that holds data; settings.yaml's pool settings reach the engine."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from monitor.config import load_config
from storage import db, schema
from storage.models import Base
from storage.repository import Repository
from tests.conftest import run_cli
from tests.fixture_web import write_config

HEAD = ScriptDirectory.from_config(schema.alembic_config(None)).get_current_head()


def _seed_at_0001(url: str) -> None:
    """A database at the first revision with articles, a crawl still running and a rule match."""
    engine = db.make_engine(url)
    schema.upgrade(engine, "0001")
    assert schema.current_revision(engine) == "0001"
    with engine.begin() as connection:
        for number, published in ((1, datetime(2024, 11, 17, 7, 30)), (2, None),
                                  (3, datetime(2024, 11, 12, 6, 0))):
            connection.execute(text(
                "INSERT INTO articles (id, source, url, title, text, language, published_at, "
                "fetched_at, content_fingerprint) VALUES (:id, 'spa', :url, :title, :body, 'ar', "
                ":published, :fetched, :fp)"),
                {"id": number, "url": f"https://spa.example/news/{number}",
                 "title": f"اجتماع اللجنة الوزارية للحكومة الإلكترونية {number}",
                 "body": "عقدت اللجنة الوزارية للحكومة الإلكترونية بدول مجلس التعاون اجتماعها.",
                 "published": published, "fetched": datetime(2024, 11, 20, 8, number),
                 "fp": f"{number:064x}"})
        connection.execute(text(
            "INSERT INTO rule_matches (article_id, rule_id, explanation, matched_at) "
            "VALUES (1, 'gcc-egov-committee', '{}', :at)"), {"at": datetime(2024, 11, 20, 8, 1)})
        connection.execute(text(
            "INSERT INTO crawl_runs (source, started_at, status, counts) "
            "VALUES ('spa', :at, 'running', '{}')"), {"at": datetime(2024, 11, 20, 8, 0)})
    engine.dispose()


def _index_names(repository: Repository, table: str) -> set[str]:
    # From the catalogue: SQLAlchemy's reflection skips expression indexes.
    query = ("SELECT indexname FROM pg_indexes WHERE tablename = :t"
             if repository.dialect == "postgresql" else
             "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t")
    with repository.engine.connect() as connection:
        return set(connection.execute(text(query), {"t": table}).scalars())


def test_raqib_db_upgrade_keeps_the_rows_of_an_older_database(database_url, tmp_path):
    _seed_at_0001(database_url)
    config_dir = write_config(tmp_path / "config", [], database_url)
    result = run_cli("db", "upgrade", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert f"database at revision {HEAD}" in result.stdout
    repository = Repository(database_url, check=False)
    try:
        assert schema.current_revision(repository.engine) == HEAD
        assert "ix_articles_newest" in _index_names(repository, "articles")
        assert "ix_crawl_runs_status" in _index_names(repository, "crawl_runs")
        articles = repository.articles.find(limit=None)
        # Newest first by publication date, else fetch time (the order the new index serves).
        assert [a.id for a in articles] == [2, 1, 3]
        assert articles[1].rules == ["gcc-egov-committee"]
        assert articles[1].published_at == datetime(2024, 11, 17, 7, 30, tzinfo=UTC)
        assert repository.runs.abandon_running("test") == 1  # the running crawl survived too
    finally:
        repository.close()


def _search_index_table(difference) -> bool:
    table = difference[1] if difference[0] == "remove_table" else getattr(difference[1], "table",
                                                                             None)
    return table is not None and table.name.startswith("article_terms")


@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_the_migrations_build_exactly_the_models_schema(database_url):
    repository = Repository(database_url)  # fresh database: every migration from the first
    try:
        with repository.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        # The full-text index is storage/search_index's own (FTS5 or tsvector), not a model.
        assert [d for d in differences if not _search_index_table(d)] == []
    finally:
        repository.close()


@pytest.mark.postgres
def test_pool_settings_from_settings_yaml_reach_the_engine(postgres_url, tmp_path):
    config_dir = write_config(tmp_path / "config", [], postgres_url)
    settings = (config_dir / "settings.yaml").read_text(encoding="utf-8")
    (config_dir / "settings.yaml").write_text(
        settings + "database:\n  pool_size: 1\n  max_overflow: 0\n  pool_timeout: 1\n"
                   "  connect_timeout: 3\n", encoding="utf-8")
    config = load_config(config_dir)
    engine = db.engine_from_settings(config.settings.database_url, config.settings.database)
    try:
        assert engine.pool.size() == 1
        with engine.connect():
            started = time.monotonic()
            with pytest.raises(PoolTimeout), engine.connect():
                pass  # the one pooled connection is taken: wait pool_timeout, then give up
            assert 0.9 <= time.monotonic() - started < 5
    finally:
        engine.dispose()
