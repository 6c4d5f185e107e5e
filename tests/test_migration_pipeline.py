"""Migration 0006_pipeline: fingerprints recomputed with today's normaliser, the near-duplicate
index rebuilt in its new form (b-bit signatures, facts, 32-bit band keys), clusters kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import text

from crawler.extraction import content_fingerprint
from crawler.neardup import BANDS, NUM_PERM, sketch
from storage import db, schema
from storage.packing import unpack_facts
from storage.records import NewArticle
from storage.repository import Repository
from storage.signatures import entry_keys

STORIES = yaml.safe_load((Path(__file__).parent / "neardup" / "stories_gcc_egov.yaml")
                         .read_text(encoding="utf-8"))["articles"]
KEYS = ["egov23-spa", "egov23-okaz", "egov26-spa"]


def _seed_at_0004(url: str) -> None:
    """Three stored articles with fingerprints of an older normaliser, an old-format signature
    and band of the first, and a cluster."""
    engine = db.make_engine(url)
    schema.upgrade(engine, "0004_notify")
    with engine.begin() as connection:
        for number, key in enumerate(KEYS, start=1):
            connection.execute(text(
                "INSERT INTO articles (id, source, url, title, text, language, published_at, "
                "fetched_at, content_fingerprint, cluster_id, similarity) VALUES (:id, 'spa', "
                ":url, :title, :body, 'ar', :at, :at, :fp, :cluster, :sim)"),
                {"id": number, "url": f"https://spa.example/{key}", "title": STORIES[key]["title"],
                 "body": STORIES[key]["text"], "at": datetime(2025, 1, 14, 9, number),
                 "fp": f"{number:064x}", "cluster": 1 if number < 3 else None,
                 "sim": 0.9 if number == 2 else None})
        connection.execute(text(
            "INSERT INTO article_signatures (article_id, signature, created_at) "
            "VALUES (1, :sig, :at)"), {"sig": b"\x00" * 256, "at": datetime(2025, 1, 14, 9)})
        connection.execute(text("INSERT INTO signature_bands (band_key, article_id) "
                                "VALUES ('00abcdef0123456789', 1)"))
    engine.dispose()


def test_0005_recomputes_fingerprints_and_rebuilds_the_index(database_url):
    _seed_at_0004(database_url)
    engine = db.make_engine(database_url)
    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.head_revision()
    with engine.connect() as connection:
        fingerprints = dict(connection.execute(
            text("SELECT id, content_fingerprint FROM articles")).all())
        signatures = {row.article_id: row for row in connection.execute(
            text("SELECT article_id, signature, shingles, facts FROM article_signatures"))}
        bands = connection.execute(text("SELECT band_key, article_id FROM signature_bands")).all()
        clusters = dict(connection.execute(text("SELECT id, cluster_id FROM articles")).all())
    engine.dispose()
    for number, key in enumerate(KEYS, start=1):
        assert fingerprints[number] == content_fingerprint(STORIES[key]["text"])
        expected = sketch(STORIES[key]["title"], STORIES[key]["text"])
        assert bytes(signatures[number].signature) == expected.signature
        assert len(expected.signature) == 2 * NUM_PERM
        assert signatures[number].shingles == expected.shingles
        assert unpack_facts(bytes(signatures[number].facts)) == expected.facts  # packed (0007)
        at = datetime(2025, 1, 14, 9, number, tzinfo=UTC)  # filed by week since 0007
        assert sorted(b.band_key for b in bands if b.article_id == number) == entry_keys(
            expected.bands, at, at)
    assert len(bands) <= BANDS * len(KEYS) and all(isinstance(b.band_key, int) for b in bands)
    assert clusters == {1: 1, 2: 1, 3: None}  # clusters kept
    # A copy of a stored text crawled after the upgrade is a duplicate of it.
    repository = Repository(database_url)
    try:
        result = repository.articles.save(NewArticle(
            source="okaz", url="https://okaz.example/copy", fetched_url="https://okaz.example/copy",
            title=STORIES["egov26-spa"]["title"], text=STORIES["egov26-spa"]["text"],
            language="ar", content_fingerprint=content_fingerprint(STORIES["egov26-spa"]["text"]),
            fetched_at=datetime(2025, 1, 15, tzinfo=UTC)))
        assert result.status == "duplicate" and result.duplicate_of == 3
    finally:
        repository.close()


def test_0005_downgrades_to_the_old_index_tables(database_url):
    _seed_at_0004(database_url)
    engine = db.make_engine(database_url)
    schema.upgrade(engine)
    schema_config = schema.alembic_config(engine)
    from alembic import command

    command.downgrade(schema_config, "0004_notify")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM article_signatures")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM articles")).scalar() == 3
    schema.upgrade(engine)  # and up again
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM article_signatures")).scalar() == 3
    engine.dispose()
