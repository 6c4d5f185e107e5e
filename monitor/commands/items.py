"""`raqib items`: list stored articles, newest first, as a table, jsonl, CSV or an Atom feed."""

from __future__ import annotations

import argparse
import json
import sys

from monitor.commands import (
    EXIT_OK,
    check_ids,
    clip,
    err,
    open_repository,
    parse_count,
    parse_since,
    print_table,
)
from monitor.config import Config
from storage.records import StoredArticle

CSV_KEYS = ["id", "source", "url", "title", "published_at", "language", "rules", "snippet",
            "cluster", "fetched_at"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register this group's sub-commands on `raqib`'s command parser."""
    items = commands.add_parser(
        "items", help="list stored articles, newest first",
        description="List stored articles, newest first, as a table (with why each was "
                    "flagged), JSON lines (one object per article: id, source, url, title, "
                    "published_at, language, text, rules, cluster, fetched_at, …), CSV or an "
                    "Atom feed. The filters combine; an id that is neither configured nor "
                    "stored is an error that lists the known ones. Pipe it freely: when the "
                    "reader stops (`| head`), raqib stops quietly.")
    items.add_argument("--flagged", action="store_true", help="only articles a watch rule matched")
    items.add_argument("--rule", metavar="ID", help="only articles this rule matched")
    items.add_argument("--source", metavar="ID", help="only articles of this source")
    items.add_argument("--since", metavar="DATE", type=parse_since,
                       help="published (or fetched) since: YYYY-MM-DD, ISO date-time, or 24h / 7d")
    items.add_argument("--limit", metavar="N", type=parse_count, default=50, help="at most N (default 50; 0: all)")
    items.add_argument("--clusters", action="store_true",
                       help="one entry per story: near-duplicate copies from other sources are "
                            "listed under it as 'also reported by'")
    items.add_argument("--format", choices=("table", "jsonl", "csv", "atom"), default="table",
                       help="csv: UTF-8 with a BOM for Excel, with a snippet column; atom: an Atom "
                            "feed, one entry per story (implies --clusters)")
    items.set_defaults(handler=cmd_items)


def article_record(article: StoredArticle) -> dict:
    """The jsonl record of `raqib items` (its keys are part of the contract, DESIGN.md)."""
    return {
        "id": article.id,
        "source": article.source,
        "url": article.url,
        "title": article.title,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "published_raw": article.published_raw,
        "language": article.language,
        "text": article.text,
        "rules": article.rules,
        "explanations": article.explanations,
        "cluster": article.cluster,
        "fetched_at": article.fetched_at.isoformat(),
    }


def cmd_items(args: argparse.Namespace, config: Config) -> int:
    repository = open_repository(config)
    check_ids(config, repository, source=args.source, rule=args.rule)
    articles = repository.articles.find(
        flagged=args.flagged, rule=args.rule, source=args.source, since=args.since,
        limit=args.limit or None)
    copies: dict[int, list[StoredArticle]] = {}
    if args.clusters or args.format == "atom":
        articles, copies = _stories(repository, articles)
    if args.format == "atom":
        from monitor.web.feeds import article_entry, atom_feed

        what = f"rule {args.rule}" if args.rule else "flagged" if args.flagged else "items"
        sys.stdout.write(atom_feed(
            feed_id=f"urn:raqib:items:{what.replace(' ', ':')}", title=f"raqib — {what}",
            self_url=None, alternate_url=None,
            entries=[article_entry(a, copies.get(a.id, [])) for a in articles]))
    elif args.format == "jsonl":
        for article in articles:
            record = article_record(article)
            if args.clusters:
                record["also_reported_by"] = [_copy(c) for c in copies[article.id]]
            print(json.dumps(record, ensure_ascii=False))
    elif args.format == "csv":
        from monitor.web.feeds import csv_document

        keys = CSV_KEYS + (["also_reported_by"] if args.clusters else [])
        for piece in csv_document(keys, (_csv_row(article, copies, keys) for article in articles)):
            sys.stdout.write(piece)
    else:
        _print_table(articles, copies, repository)
    return EXIT_OK


def _csv_row(article: StoredArticle, copies: dict[int, list[StoredArticle]],
             keys: list[str]) -> list[object]:
    """An article as a CSV row: its rules joined, the first snippet of why it was flagged."""
    record = article_record(article)
    record["rules"] = " ".join(record["rules"])
    record["snippet"] = next((" ".join(snippet.split())
                              for rule_id in article.rules
                              for snippet in (article.explanations.get(rule_id) or {})
                              .get("snippets") or []), "")
    record["also_reported_by"] = " ".join(f"{c.source}:{c.url}" for c in copies.get(article.id, []))
    return [record[key] for key in keys]


def _print_table(articles: list[StoredArticle], copies: dict[int, list[StoredArticle]],
                 repository) -> None:
    rows = []
    for a in articles:
        rows.append([str(a.id), a.published_at.strftime("%Y-%m-%d %H:%M") if a.published_at
                     else "—", a.source, a.language or "", clip(a.title or "(no title)", 70),
                     ",".join(a.rules), str(a.cluster or "")])
        for rule_id in a.rules:  # why it was flagged, one line per rule
            snippets = (a.explanations.get(rule_id) or {}).get("snippets") or []
            why = " · ".join(" ".join(s.split()) for s in snippets[:2]) or "(no snippet)"
            rows.append(["", "", "", "", clip(f"↳ {rule_id}: {why}", 70), "", ""])
        if copies.get(a.id):
            also = ", ".join(f"{c.source} (#{c.id})" for c in copies[a.id])
            rows.append(["", "", "", "", clip(f"↳ also reported by: {also}", 70), "", ""])
    print_table(["id", "published (UTC)", "source", "lang", "title", "rules", "cluster"], rows)
    if not articles:
        from storage.db import display_url

        where = display_url(repository.engine)  # sqlite:// when there is no database yet
        err("no stored articles match" + (f" in {where}" if where != "sqlite://" else "")
            + " (`raqib crawl` stores some)")


def _stories(repository, articles: list[StoredArticle]
             ) -> tuple[list[StoredArticle], dict[int, list[StoredArticle]]]:
    """The listed articles one per story (the first-stored copy leads), with the other copies."""
    from monitor.stories import group_copies, story_key

    keys = {story_key(a) for a in articles}
    every_copy = repository.articles.find(stories=keys, limit=None) if keys else []
    groups = {story_key(group[0]): group for group in group_copies(every_copy)}
    leads, copies, shown = [], {}, set()
    for article in articles:  # keep the listing's order and filters for the leading copy
        key = story_key(article)
        if key in shown:
            continue
        shown.add(key)
        group = groups.get(key, [article])
        lead = group[0] if any(a.id == group[0].id for a in articles) else article
        leads.append(lead)
        copies[lead.id] = [c for c in group if c.id != lead.id]
    return leads, copies


def _copy(article: StoredArticle) -> dict:
    return {"id": article.id, "source": article.source, "url": article.url, "title": article.title}
