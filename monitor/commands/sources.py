"""`raqib sources list` and `raqib sources check`: the source catalogue."""

from __future__ import annotations

import argparse
import json

from monitor.commands import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    clip,
    err,
    open_repository,
    print_table,
    when,
)
from monitor.config import Config


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register this group's sub-commands on `raqib`'s command parser."""
    sources = commands.add_parser(
        "sources", help="the source catalogue: list it, check it",
        description="The sources of sources.yaml: `list` shows them with their crawls, "
                    "`check` tries their addresses live.").add_subparsers(
        dest="sources_command", metavar="SUBCOMMAND", required=True)
    listing = sources.add_parser(
        "list", help="configured sources with their last crawl runs",
        description="The enabled sources of sources.yaml with their schedule and their crawls: "
                    "the last run and its status (ok, warning, failed, interrupted), the last "
                    "new article, failures in a row (warnings count), stored articles and the "
                    "last error while the source is not ok.")
    listing.add_argument("--all", action="store_true",
                         help="also the disabled sources, with why they are disabled")
    listing.set_defaults(handler=cmd_sources_list)
    check = sources.add_parser(
        "check", help="check that each source's feeds, sitemaps and listings answer",
        description="Fetch every feed, sitemap and listing page of the enabled sources (or the "
                    "named ones) once, count their article links, and extract one sample "
                    "article, with the crawl's politeness (robots.txt, user agent, timeouts). "
                    "Stores nothing. Exit 0 when every checked source gave links and a sample "
                    "article, 1 otherwise.")
    check.add_argument("source_ids", nargs="*", metavar="SOURCE_ID",
                       help="the sources to check (default: every enabled one)")
    check.add_argument("--all", action="store_true", help="also the disabled sources")
    check.add_argument("--json", action="store_true",
                       help="print a JSON object per source (the summary line goes to stderr)")
    check.set_defaults(handler=cmd_sources_check)


def cmd_sources_list(args: argparse.Namespace, config: Config) -> int:
    repository = open_repository(config)
    shown = [source for source in config.sources if source.enabled or args.all]
    with_disabled = any(not source.enabled for source in shown)
    rows = []
    for source in shown:
        summary = repository.runs.summary(source.id)
        schedule = source.schedule.every or source.schedule.cron
        # The error of the last run that was not ok (a failure or a warning), while it lasts.
        last_error = summary.last_error if summary.consecutive_failures else None
        row = [source.id, clip(source.name, 32), source.country, source.kind,
               source.language, "yes" if source.enabled else "no", schedule,
               when(summary.last_run_at), summary.last_status or "—",
               when(summary.last_new_article_at), str(summary.consecutive_failures),
               str(summary.articles), clip(last_error or "", 90)]
        if with_disabled:
            row.append(clip(source.disabled_reason or "(no reason given)", 60)
                       if not source.enabled else "")
        rows.append(row)
    headers = ["id", "name", "country", "kind", "lang", "enabled", "schedule", "last run",
               "status", "last new article", "failures", "articles", "last error"]
    print_table(headers + (["why disabled"] if with_disabled else []), rows)
    disabled = sum(1 for source in config.sources if not source.enabled)
    if disabled and not args.all:
        err(f"{disabled} disabled source(s) not shown (--all shows them, with the reason)")
    return EXIT_OK


def cmd_sources_check(args: argparse.Namespace, config: Config) -> int:
    sources = config.sources if args.all and not args.source_ids else \
        config.select_sources(args.source_ids)
    if not sources:
        raise UsageError("no enabled sources: enable one in sources.yaml, name it, or use --all")
    from crawler.check import check_sources

    done: list[str] = []

    def finished(result) -> None:
        done.append(result.source)
        state = "healthy" if result.healthy else f"NOT HEALTHY: {result.problem}"
        err(f"[{len(done)}/{len(sources)}] {result.source}: {state} ({result.seconds:.1f}s)")

    results = check_sources(config, sources, on_finish=finished)
    if args.json:
        for result in results:
            print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        rows = []
        for result in results:
            status = "healthy" if result.healthy else "FAILING"
            for entry in result.entries:
                rows.append([result.source if status else "", status, entry.kind,
                             clip(entry.url, 60), entry.answer, str(len(entry.links)),
                             "; ".join(entry.notes)])
                status = ""
            sample = result.sample
            found = ""
            if sample.extracted:
                date = f"{sample.published_at:%Y-%m-%d}" if sample.published_at else "no date"
                found = f"{clip(sample.title or '(no title)', 40)} · {sample.chars} chars · {date}"
            rows.append([result.source if not result.entries else "", status, "sample",
                         clip(sample.url or "—", 60), sample.outcome, "", found])
        print_table(["source", "status", "kind", "address", "answer", "links", "found"], rows)
    healthy = [r for r in results if r.healthy]
    line = f"{len(healthy)} of {len(results)} source{'s' if len(results) != 1 else ''} healthy"
    failing = [f"{r.source} ({r.problem})" for r in results if not r.healthy]
    line += "; not healthy: " + ", ".join(failing) if failing else ""
    # With --json, standard output is JSON lines only.
    err(line) if args.json else print(line)
    return EXIT_OK if len(healthy) == len(results) else EXIT_FAILED
