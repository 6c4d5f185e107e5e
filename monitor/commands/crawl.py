"""`raqib crawl`, `raqib items` and `raqib run`: crawl once or on schedule, list what was stored."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys

from monitor.commands import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    clip,
    err,
    open_repository,
    parse_since,
    print_table,
)
from monitor.config import Config


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register this group's sub-commands on `raqib`'s command parser."""
    crawl = commands.add_parser(
        "crawl", help="crawl all enabled sources (or the named ones) once",
        description="Crawl every enabled source, or the named sources, once. Prints a line per "
                    "source as it finishes and a summary table. Exit 0 when every source ran, "
                    "1 when any source failed entirely, 2 on a configuration error.")
    crawl.add_argument("source_ids", nargs="*", metavar="SOURCE_ID")
    crawl.add_argument("--json", action="store_true", help="print the summary as JSON")
    crawl.set_defaults(handler=cmd_crawl)

    items = commands.add_parser("items", help="list stored articles, newest first")
    items.add_argument("--flagged", action="store_true", help="only articles a watch rule matched")
    items.add_argument("--rule", metavar="ID", help="only articles this rule matched")
    items.add_argument("--source", metavar="ID", help="only articles of this source")
    items.add_argument("--since", metavar="DATE", type=parse_since,
                       help="published (or fetched) since: YYYY-MM-DD, ISO date-time, or 24h / 7d")
    items.add_argument("--limit", metavar="N", type=int, default=50, help="at most N (default 50; 0: all)")
    items.add_argument("--clusters", action="store_true",
                       help="one entry per story: near-duplicate copies from other sources are "
                            "listed under it as 'also reported by'")
    items.add_argument("--format", choices=("table", "jsonl", "csv", "atom"), default="table",
                       help="atom: an Atom feed, one entry per story (implies --clusters)")
    items.set_defaults(handler=cmd_items)

    run = commands.add_parser(
        "run", help="the daemon: crawl every source on its schedule, send digests",
        description="Run in the foreground until SIGINT/SIGTERM: one crawl job per enabled "
                    "source on its schedule (each crawl in a child process), the digest jobs and "
                    "a source-health check. SIGHUP reloads the configuration; a bad one is refused "
                    "and the running one kept.")
    run.set_defaults(handler=cmd_run)


def cmd_crawl(args: argparse.Namespace, config: Config) -> int:
    from crawler.runner import COUNTS, run_crawl

    sources = config.select_sources(args.source_ids)
    if not sources:
        raise UsageError("no enabled sources: enable one in sources.yaml or name it")
    for source in sources:
        if not source.enabled:
            err(f"note: source '{source.id}' is disabled in sources.yaml"
                + (f" ({source.disabled_reason})" if source.disabled_reason else "")
                + "; crawling it because it was named")
    repository = open_repository(config)
    total = len(sources)
    done: list[str] = []
    err(f"crawling {total} source{'s' if total != 1 else ''}: "
        + ", ".join(source.id for source in sources))

    def finished(report) -> None:
        done.append(report.source)
        line = ", ".join(f"{report[key]} {key.replace('_', ' ')}" for key in COUNTS)
        state = "FAILED: " + (report.error or "") if report.status == "failed" else "ok"
        err(f"[{len(done)}/{total}] {report.source}: {state} in {report.seconds:.1f}s — {line}")

    reports = run_crawl(config, sources, repository, on_finish=finished)
    if args.json:
        print(json.dumps([{"source": r.source, "status": r.status, "error": r.error,
                           **{k: r[k] for k in COUNTS}} for r in reports], ensure_ascii=False))
    else:
        headers = ["source", "status", *COUNTS]
        rows = [[r.source, r.status, *(str(r[k]) for k in COUNTS)] for r in reports]
        rows.append(["total", "", *(str(sum(r[k] for r in reports)) for k in COUNTS)])
        print_table([h.replace("_", "-") for h in headers], rows)
    failed = [r for r in reports if r.status == "failed"]
    for report in failed:
        err(f"raqib: source '{report.source}' failed: {report.error}")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_items(args: argparse.Namespace, config: Config) -> int:
    repository = open_repository(config)
    articles = repository.articles(
        flagged=args.flagged, rule=args.rule, source=args.source, since=args.since,
        limit=args.limit or None)
    copies: dict[int, list] = {}
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
            record = article.to_dict()
            if args.clusters:
                record["also_reported_by"] = [_copy(c) for c in copies[article.id]]
            print(json.dumps(record, ensure_ascii=False))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout)
        keys = ["id", "source", "url", "title", "published_at", "language", "rules", "cluster",
                "fetched_at"] + (["also_reported_by"] if args.clusters else [])
        writer.writerow(keys)
        for article in articles:
            record = article.to_dict()
            record["rules"] = " ".join(record["rules"])
            record["also_reported_by"] = " ".join(f"{c.source}:{c.url}"
                                                  for c in copies.get(article.id, []))
            writer.writerow([record[key] for key in keys])
    else:
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
            err("no stored articles match (run `raqib crawl` first?)")
    return EXIT_OK


def _stories(repository, articles: list) -> tuple[list, dict[int, list]]:
    """The listed articles one per story (the first-stored copy leads), with the other copies."""
    from monitor.stories import group_copies, story_key

    keys = {story_key(a) for a in articles}
    every_copy = repository.articles(stories=keys, limit=None) if keys else []
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


def _copy(article) -> dict:
    return {"id": article.id, "source": article.source, "url": article.url, "title": article.title}


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from monitor.daemon import Daemon

    if args.verbose == 0:  # a daemon's log says what it scheduled and what each run did
        logging.getLogger("monitor").setLevel(logging.INFO)
    return Daemon(args.config_dir, args.db).run_forever()
