"""The database password never on a command line (issue 20 point 1): a real crawl child started
the daemon's and the workers' way (monitor.daemon.crawls.run_crawl_child), with a PostgreSQL URL
that carries a password, and the command line of every process of its tree read from /proc
while it crawls; its log and the run records hold no password either."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.demo.web import Page
from storage.repository import Repository
from tests.faults_web import NewsSite, many_articles

PASSWORD = "Sesame-7f3a9c-OPEN"  # trust auth: the server ignores it, every process carries it


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


@pytest.mark.postgres
def test_no_process_of_a_crawl_shows_the_database_password(tmp_path, postgres_url, caplog):
    from monitor.daemon.crawls import run_crawl_child

    with_password = postgres_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
    site = NewsSite(many_articles(6))
    # A slow article keeps the crawl (and its extraction worker) alive while /proc is read.
    site.site.add("/news/story-0006.html", Page(site.site.pages["/news/story-0006.html"].body,
                                                delay=3))
    try:
        config_dir = site.config(tmp_path / "config", with_password, extraction_workers=1,
                                 download_timeout=10)
        config = load_config(config_dir)
        repository = Repository(with_password)
        command_lines: dict[int, str] = {}
        outcome: list = []
        caplog.set_level(logging.DEBUG)
        worker = threading.Thread(target=lambda: outcome.append(
            run_crawl_child(config, config.source("waha"), repository)))
        worker.start()
        while worker.is_alive():
            for pid in _descendants(os.getpid()):
                try:
                    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if raw:  # empty once the process is a zombie
                    command_lines[pid] = raw.replace(b"\0", b" ").decode("utf-8", "replace")
            time.sleep(0.05)
        worker.join()
        assert outcome and outcome[0].status == "ok", outcome
        # The crawl child and its extraction worker were both seen, and neither shows it.
        assert any("crawler.child" in line for line in command_lines.values()), command_lines
        assert len(command_lines) >= 2, command_lines
        assert not [line for line in command_lines.values() if PASSWORD in line]
        assert PASSWORD not in caplog.text
        runs = repository.runs.recent("waha")
        assert runs and all(PASSWORD not in (run.error or "") + str(run.counts) for run in runs)
        assert repository.articles.count("waha") == 6
        repository.close()
    finally:
        site.stop()
