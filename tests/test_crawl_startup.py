"""`raqib crawl` starts with what it needs (#23.4): no Alembic when the schema is current, no
Scrapy remote-control server (and its aiohttp)."""

from __future__ import annotations

from monitor.demo.sites import demo_sources
from storage import schema
from tests.conftest import run_cli
from tests.fixture_web import write_config


def test_the_quick_head_is_alembics_head():
    assert schema.quick_head() == schema.head_revision()


def test_a_crawl_over_a_current_database_imports_neither_alembic_nor_aiohttp(tmp_path, test_web):
    sources = [s for s in demo_sources(test_web) if s["id"] == "waha"]
    config = write_config(tmp_path / "config", sources, f"sqlite:///{tmp_path}/raqib.db")
    first = run_cli("crawl", "waha", config_dir=config)  # a new database: migrated (Alembic)
    assert first.returncode == 0, first.stderr
    again = run_cli("crawl", "waha", config_dir=config, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert again.returncode == 0, again.stderr
    imported = {line.split("|")[-1].strip() for line in again.stderr.splitlines()
                if line.startswith("import time:")}
    assert "scrapy.crawler" in imported  # the measurement works
    assert not {name for name in imported if name.split(".")[0] in ("alembic", "aiohttp")}
