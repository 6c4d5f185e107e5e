"""The `raqib` command line: parses arguments, calls the domain code, prints.

Domain errors become one clear line and an exit code: 0 success, 1 a source or job failed,
2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from monitor.config import Config, ConfigError, load_config, parse_duration

log = logging.getLogger("raqib")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
raqib (رقيب) watches Gulf news sources — GCC government portals, news agencies and
newspapers — stores every new article once, and flags the ones your watch rules match.

first steps:
  raqib demo                   crawl a bundled sample of news sites on 127.0.0.1 (no network)
  raqib sources list           the configured sources and their last crawls
  raqib crawl                  crawl every enabled source once, print a summary
  raqib crawl wam okaz         crawl only these sources
  raqib items --flagged        articles that matched a watch rule, newest first
  raqib run                    the daemon: crawl each source on its schedule, send digests

configuration lives in a directory with sources.yaml, rules.yaml and settings.yaml
(--config-dir, or RAQIB_CONFIG_DIR; default: the shipped config/). The database is
settings.yaml's database_url (--db, or RAQIB_DATABASE_URL; default: SQLite ./data/raqib.db).
"""


class UsageError(Exception):
    """A command-line value that cannot be used."""


def _parse_since(value: str) -> datetime:
    """An ISO date/time, or a duration back from now such as 24h or 7d."""
    if re.fullmatch(r"\d+(\.\d+)?\s*[smhd]", value.strip()):
        return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"invalid date {value!r}: use YYYY-MM-DD, an ISO date-time, or 24h / 7d") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raqib", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-dir", metavar="DIR",
                        help="configuration directory (env RAQIB_CONFIG_DIR; default: shipped config/)")
    parser.add_argument("--db", metavar="URL",
                        help="database URL (env RAQIB_DATABASE_URL; default: settings.yaml database_url)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-vv for Scrapy's own logs)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="crawl a bundled sample of news sites on 127.0.0.1 (no network needed)",
        description="Start a bundled sample of Arabic and English news sites on 127.0.0.1, "
                    "crawl them with the shipped watch rules into a temporary SQLite database "
                    "(or --db), print what was flagged and why, and write the e-mail digest "
                    "as an HTML preview. Sends nothing; needs no network.")
    demo.add_argument("--preview", metavar="FILE.html", type=Path,
                      default=Path("raqib-demo-digest.html"),
                      help="where to write the digest preview (default: ./raqib-demo-digest.html)")
    demo.set_defaults(handler=cmd_demo)

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
    items.add_argument("--since", metavar="DATE", type=_parse_since,
                       help="published (or fetched) since: YYYY-MM-DD, ISO date-time, or 24h / 7d")
    items.add_argument("--limit", metavar="N", type=int, default=50, help="at most N (default 50; 0: all)")
    items.add_argument("--clusters", action="store_true",
                       help="one entry per story: near-duplicate copies from other sources are "
                            "listed under it as 'also reported by'")
    items.add_argument("--format", choices=("table", "jsonl", "csv"), default="table")
    items.set_defaults(handler=cmd_items)

    run = commands.add_parser(
        "run", help="the daemon: crawl every source on its schedule, send digests",
        description="Run in the foreground until SIGINT/SIGTERM: one crawl job per enabled "
                    "source on its schedule (each crawl in a child process), the digest jobs and "
                    "a source-health check. SIGHUP reloads the configuration; a bad one is refused "
                    "and the running one kept.")
    run.set_defaults(handler=cmd_run)

    sources = commands.add_parser("sources", help="the source catalogue").add_subparsers(
        dest="sources_command", metavar="SUBCOMMAND", required=True)
    listing = sources.add_parser("list", help="configured sources with their last crawl runs")
    listing.add_argument("--all", action="store_true", help="include disabled sources")
    listing.set_defaults(handler=cmd_sources_list)
    check = sources.add_parser(
        "check", help="check that each source's feeds, sitemaps and listings answer",
        description="Fetch every feed, sitemap and listing page of the enabled sources (or the "
                    "named ones) once, count their article links, and extract one sample "
                    "article, with the crawl's politeness (robots.txt, user agent, timeouts). "
                    "Stores nothing. Exit 0 when every checked source gave links and a sample "
                    "article, 1 otherwise.")
    check.add_argument("source_ids", nargs="*", metavar="SOURCE_ID")
    check.add_argument("--all", action="store_true", help="also disabled sources")
    check.add_argument("--json", action="store_true", help="print the results as JSON lines")
    check.set_defaults(handler=cmd_sources_check)

    _add_digest_commands(commands)
    _add_rules_commands(commands)

    worker = commands.add_parser(
        "worker", help="a distributed crawl worker (Celery), for more than one machine",
        description="Run crawl jobs from settings.yaml's broker_url (env RAQIB_BROKER_URL) until "
                    "SIGTERM: `raqib run` with the same broker enqueues one job per source due, "
                    "any worker runs it (each crawl in a child process). Needs PostgreSQL when "
                    "workers run on more than one machine.")
    worker.add_argument("--concurrency", type=int, metavar="N",
                        help="crawls at once (default: daemon.max_parallel_crawls)")
    worker.set_defaults(handler=cmd_worker)

    database = commands.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", metavar="SUBCOMMAND", required=True)
    database.add_parser("upgrade", help="apply the migrations (Alembic)").set_defaults(
        handler=cmd_db_upgrade)
    return parser


def _repository(config: Config):
    from storage.db import engine_from_settings
    from storage.repository import Repository

    return Repository(engine_from_settings(config.settings.database_url, config.settings.database))


# --- crawl ------------------------------------------------------------------------------------

def cmd_crawl(args: argparse.Namespace, config: Config) -> int:
    from crawler.runner import COUNTS, run_crawl

    sources = config.select_sources(args.source_ids)
    if not sources:
        raise UsageError("no enabled sources: enable one in sources.yaml or name it")
    for source in sources:
        if not source.enabled:
            _err(f"note: source '{source.id}' is disabled in sources.yaml"
                 + (f" ({source.disabled_reason})" if source.disabled_reason else "")
                 + "; crawling it because it was named")
    repository = _repository(config)
    total = len(sources)
    done: list[str] = []
    _err(f"crawling {total} source{'s' if total != 1 else ''}: "
         + ", ".join(source.id for source in sources))

    def finished(report) -> None:
        done.append(report.source)
        line = ", ".join(f"{report[key]} {key.replace('_', ' ')}" for key in COUNTS)
        state = "FAILED: " + (report.error or "") if report.status == "failed" else "ok"
        _err(f"[{len(done)}/{total}] {report.source}: {state} in {report.seconds:.1f}s — {line}")

    reports = run_crawl(config, sources, repository, on_finish=finished)
    if args.json:
        print(json.dumps([{"source": r.source, "status": r.status, "error": r.error,
                           **{k: r[k] for k in COUNTS}} for r in reports], ensure_ascii=False))
    else:
        headers = ["source", "status", *COUNTS]
        rows = [[r.source, r.status, *(str(r[k]) for k in COUNTS)] for r in reports]
        rows.append(["total", "", *(str(sum(r[k] for r in reports)) for k in COUNTS)])
        _print_table([h.replace("_", "-") for h in headers], rows)
    failed = [r for r in reports if r.status == "failed"]
    for report in failed:
        _err(f"raqib: source '{report.source}' failed: {report.error}")
    return EXIT_FAILED if failed else EXIT_OK


# --- items ------------------------------------------------------------------------------------

def cmd_items(args: argparse.Namespace, config: Config) -> int:
    repository = _repository(config)
    articles = repository.articles(
        flagged=args.flagged, rule=args.rule, source=args.source, since=args.since,
        limit=args.limit or None)
    copies: dict[int, list] = {}
    if args.clusters:
        articles, copies = _stories(repository, articles)
    if args.format == "jsonl":
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
                         else "—", a.source, a.language or "", _clip(a.title or "(no title)", 70),
                         ",".join(a.rules), str(a.cluster or "")])
            for rule_id in a.rules:  # why it was flagged, one line per rule
                snippets = (a.explanations.get(rule_id) or {}).get("snippets") or []
                why = " · ".join(" ".join(s.split()) for s in snippets[:2]) or "(no snippet)"
                rows.append(["", "", "", "", _clip(f"↳ {rule_id}: {why}", 70), "", ""])
            if copies.get(a.id):
                also = ", ".join(f"{c.source} (#{c.id})" for c in copies[a.id])
                rows.append(["", "", "", "", _clip(f"↳ also reported by: {also}", 70), "", ""])
        _print_table(["id", "published (UTC)", "source", "lang", "title", "rules", "cluster"], rows)
        if not articles:
            _err("no stored articles match (run `raqib crawl` first?)")
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


# --- run ------------------------------------------------------------------------------------

def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from monitor.daemon import Daemon

    if args.verbose == 0:  # a daemon's log says what it scheduled and what each run did
        logging.getLogger("monitor").setLevel(logging.INFO)
    return Daemon(args.config_dir, args.db).run_forever()


def cmd_worker(args: argparse.Namespace, config: Config) -> int:
    from monitor.worker import run_worker

    if args.verbose == 0:  # a worker's log says which crawl it took and how it ended
        logging.getLogger("monitor").setLevel(logging.INFO)
    return run_worker(config, concurrency=args.concurrency)


# --- sources ----------------------------------------------------------------------------------

def cmd_sources_list(args: argparse.Namespace, config: Config) -> int:
    repository = _repository(config)
    rows = []
    for source in config.sources:
        if not source.enabled and not args.all:
            continue
        summary = repository.run_summary(source.id)
        schedule = source.schedule.every or source.schedule.cron
        rows.append([source.id, _clip(source.name, 32), source.country, source.kind,
                     source.language, "yes" if source.enabled else "no", schedule,
                     _when(summary.last_run_at), summary.last_status or "—",
                     _when(summary.last_new_article_at), str(summary.consecutive_failures),
                     str(summary.articles)])
    _print_table(["id", "name", "country", "kind", "lang", "enabled", "schedule", "last run",
                  "status", "last new article", "failures", "articles"], rows)
    disabled = sum(1 for source in config.sources if not source.enabled)
    if disabled and not args.all:
        _err(f"{disabled} disabled source(s) not shown (--all shows them)")
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
        _err(f"[{len(done)}/{len(sources)}] {result.source}: {state} ({result.seconds:.1f}s)")

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
                             _clip(entry.url, 60), entry.answer, str(len(entry.links)),
                             "; ".join(entry.notes)])
                status = ""
            sample = result.sample
            found = ""
            if sample.extracted:
                date = f"{sample.published_at:%Y-%m-%d}" if sample.published_at else "no date"
                found = f"{_clip(sample.title or '(no title)', 40)} · {sample.chars} chars · {date}"
            rows.append([result.source if not result.entries else "", status, "sample",
                         _clip(sample.url or "—", 60), sample.outcome, "", found])
        _print_table(["source", "status", "kind", "address", "answer", "links", "found"], rows)
    healthy = [r for r in results if r.healthy]
    line = f"{len(healthy)} of {len(results)} source{'s' if len(results) != 1 else ''} healthy"
    failing = [f"{r.source} ({r.problem})" for r in results if not r.healthy]
    print(line + ("; not healthy: " + ", ".join(failing) if failing else ""))
    return EXIT_OK if len(healthy) == len(results) else EXIT_FAILED


# --- digests ----------------------------------------------------------------------------------

def _add_digest_commands(commands: argparse._SubParsersAction) -> None:
    digest = commands.add_parser("digest", help="e-mail digests").add_subparsers(
        dest="digest_command", metavar="SUBCOMMAND", required=True)
    send = digest.add_parser(
        "send", help="build and send the digests that are due now",
        description="Build every due digest (or the named one) for each recipient and send it "
                    "through settings.yaml's SMTP server; messages the server did not take "
                    "earlier are retried first. A cron digest is due when its schedule has fired "
                    "since its last message, an immediate one whenever something new matched. "
                    "Exit 0 when everything went out, 1 when a message could not be sent (it "
                    "stays queued for the next run), 2 on a configuration error.")
    send.add_argument("digest_id", nargs="?", metavar="DIGEST_ID")
    look = send.add_mutually_exclusive_group()
    look.add_argument("--dry-run", action="store_true",
                      help="print what would go out; build, send and change nothing")
    look.add_argument("--preview", metavar="FILE.html", type=Path,
                      help="write the digest's HTML to FILE.html; send and change nothing")
    send.add_argument("--force", action="store_true",
                      help="also digests whose schedule has not fired since their last message")
    send.set_defaults(handler=cmd_digest_send)


def cmd_digest_send(args: argparse.Namespace, config: Config) -> int:
    from monitor.digests import run_digests

    looking = args.dry_run or args.preview is not None
    reports = run_digests(config, _repository(config), digest_id=args.digest_id,
                          only_due=not args.force, dry_run=args.dry_run, preview=args.preview,
                          send=not looking)
    if not reports:
        _err("no digest is due now (--force sends what is new anyway)")
        return EXIT_OK
    if args.dry_run:
        for report in reports:
            if report.text:
                print(f"=== {report.digest_id} → {report.recipient} ({report.status}): "
                      f"{report.subject}\n{report.text}")
    _print_table(["digest", "recipient", "status", "articles", "subject", "note"],
                 [[r.digest_id, r.recipient, r.status, str(r.built), _clip(r.subject or "—", 60),
                   str(r.preview or r.error or "")] for r in reports])
    failed = [r for r in reports if r.status == "failed"]
    for report in failed:
        _err(f"raqib: digest '{report.digest_id}' to {report.recipient} not sent (queued for "
             f"the next run): {report.error}")
    return EXIT_FAILED if failed else EXIT_OK


# --- demo -------------------------------------------------------------------------------------

def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from monitor.demo.tour import DemoError, run_demo

    _err("raqib demo: serving three sample news sites on 127.0.0.1 and crawling them…")
    try:
        result = run_demo(args.preview.resolve(), database_url=args.db)
    except DemoError as exc:
        _err(f"raqib: demo failed: {exc}")
        return EXIT_FAILED
    print(result.crawl_report.rstrip())
    print(f"\n{len(result.flagged)} of {result.articles} stored articles matched a watch rule:")
    for number, article in enumerate(result.flagged, start=1):
        published = (article.published_at.strftime("%Y-%m-%d %H:%M UTC")
                     if article.published_at else "no date")
        print(f"\n{number}. {article.title or '(no title)'}\n   {article.source} · {published} · "
              f"{article.url}")
        for rule_id in article.rules:
            why = article.explanations.get(rule_id, {})
            print(f"   rule {rule_id} ({result.rule_names.get(rule_id, '')})")
            if why.get("clauses"):
                print("     matched: " + _clip(" · ".join(why["clauses"]), 150))
            for snippet in why.get("snippets", [])[:2]:
                print(f"     «{_clip(snippet, 110)}»")
    if result.preview:
        print(f"\ndigest preview: {result.preview} — {result.digest_subject}")
    else:
        print("\nno digest preview: nothing matched the digest's rules")
    where = "a temporary database (gone now)" if not args.db else args.db
    _err(f"done in {result.seconds:.0f}s; the articles went to {where}. Next: `raqib sources "
         "list`, then `raqib crawl` on the real catalogue (needs the internet).")
    return EXIT_OK


# --- rules ------------------------------------------------------------------------------------

def _add_rules_commands(commands: argparse._SubParsersAction) -> None:
    rules = commands.add_parser("rules", help="try and re-apply the watch rules").add_subparsers(
        dest="rules_command", metavar="SUBCOMMAND", required=True)
    test = rules.add_parser(
        "test", help="which rules match a text, or what re-running them would change",
        description="Read a text (first line: the title; the rest: the body) from FILE or, with "
                    "- or nothing, from standard input, and show every rule's verdict and why: "
                    "the clauses that matched with snippets, what was missing, or the NOT that "
                    "excluded it. With --stored, re-run the rules over stored articles instead "
                    "and list the articles whose matches would change (nothing is written).")
    test.add_argument("file", nargs="?", metavar="FILE|-", help="the text (default: stdin)")
    test.add_argument("--rule", metavar="ID", help="only this rule")
    test.add_argument("--language", choices=("ar", "en"),
                      help="the text's language (default: detected from its script)")
    test.add_argument("--stored", action="store_true",
                      help="re-run the rules over stored articles and show what would change")
    test.add_argument("--since", metavar="DATE", type=_parse_since,
                      help="with --stored: published (or fetched) since (YYYY-MM-DD, 24h, 7d)")
    test.add_argument("--source", metavar="ID", help="with --stored: only this source's articles")
    test.add_argument("--limit", metavar="N", type=int, default=0,
                      help="with --stored: at most N articles, oldest first (default: all)")
    test.set_defaults(handler=cmd_rules_test)
    apply = rules.add_parser(
        "apply", help="update the stored matches after the rules were edited",
        description="Re-run the current rules over stored articles (or those since DATE) and "
                    "store the matches that changed: new matches, matches no rule makes any "
                    "more, and refreshed explanations. A match that stays keeps its date, so "
                    "digests do not send it again.")
    apply.add_argument("--since", metavar="DATE", type=_parse_since,
                       help="published (or fetched) since: YYYY-MM-DD, ISO date-time, or 24h / 7d")
    apply.set_defaults(handler=cmd_rules_apply)


def cmd_rules_test(args: argparse.Namespace, config: Config) -> int:
    from monitor import rules_review

    rules = config.rule_set()
    if args.stored:
        if args.file or args.rule or args.language:
            raise UsageError("--stored re-runs every rule over stored articles: it takes no "
                             "FILE, --rule or --language")
        review = rules_review.review_stored(rules, _repository(config), since=args.since,
                                            source=args.source, limit=args.limit or None)
        _print_table(["id", "title", "added", "removed"],
                     [[str(c.article_id), _clip(c.title or "(no title)", 60), ",".join(c.added),
                       ",".join(c.removed) or ("(explanation)" if not c.added else "")]
                      for c in review.changes])
        _err(f"{review.articles} stored article(s) re-evaluated: {len(review.changes)} would "
             f"change ({review.added} match(es) added, {review.removed} removed); nothing written "
             f"(`raqib rules apply` writes it)")
        return EXIT_OK
    if args.since or args.source or args.limit:
        raise UsageError("--since, --source and --limit go with --stored")
    if args.file in (None, "-"):
        text = sys.stdin.read()
    else:
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {args.file}: {exc}") from exc
    title, body = rules_review.split_title_body(text)
    if not (title or body):
        raise UsageError("the text is empty: give a title line and a body")
    language = args.language or rules_review.detect_language(f"{title}\n{body}")
    try:
        verdicts = rules_review.explain_text(rules, title, body, language, args.rule)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from exc
    how = "given" if args.language else "detected" if language else "unknown"
    print(f"title: {_clip(title, 90)}\nlanguage: {language or '?'} ({how}); "
          f"{len(verdicts)} rule(s), {sum(v.matched for v in verdicts)} matched")
    for verdict in verdicts:
        print(f"\n{'MATCH' if verdict.matched else 'no   '}  {verdict.rule_id} — {verdict.name}")
        print(f"       {verdict.reason}")
        for snippet in verdict.snippets:
            print(f"       « {snippet} »")
    return EXIT_OK


def cmd_rules_apply(args: argparse.Namespace, config: Config) -> int:
    from monitor.rules_review import apply_stored

    review = apply_stored(config.rule_set(), _repository(config), since=args.since)
    refreshed = sum(1 for c in review.changes if not c.added and not c.removed)
    print(f"re-evaluated {review.articles} stored article(s) with {len(config.rules)} rule(s): "
          f"{len(review.changes)} updated ({review.added} match(es) added, {review.removed} "
          f"removed, {refreshed} explanation(s) refreshed); {review.flagged} flagged now")
    return EXIT_OK


# --- db ---------------------------------------------------------------------------------------

def cmd_db_upgrade(args: argparse.Namespace, config: Config) -> int:
    from storage.db import current_revision

    repository = _repository(config)
    print(f"database at revision {current_revision(repository.engine)}: "
          f"{repository.engine.url.render_as_string(hide_password=True)}")
    return EXIT_OK


# --- output helpers ---------------------------------------------------------------------------

def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    for row in [headers, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())


_LIBRARIES = ("scrapy", "twisted", "filelock", "trafilatura", "htmldate", "asyncio", "apscheduler",
              "py.warnings")


class _QuietLibraries(logging.Filter):
    """Drops libraries' records below a level, whatever levels they give their own loggers
    (Scrapy resets its loggers to DEBUG when a crawl starts)."""

    def __init__(self, names: tuple[str, ...], below: int) -> None:
        super().__init__()
        self.names, self.below = names, below

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.below or record.name.split(".")[0] not in self.names


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    # Libraries' chatter is for -vv; at the default level per-page crawl warnings are counted
    # in the summary instead of printed, and our own warnings about sources always show.
    quiet = (*_LIBRARIES, "crawler") if verbosity == 0 else _LIBRARIES
    for handler in logging.root.handlers:
        below = {0: logging.CRITICAL, 1: logging.ERROR}.get(verbosity, logging.DEBUG)
        handler.addFilter(_QuietLibraries(quiet, below))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `raqib` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    _configure_logging(args.verbose)
    handler: Callable[[argparse.Namespace, Config], int] = args.handler
    try:
        config = load_config(args.config_dir, database_url=args.db)
        for warning in config.warnings:
            log.warning(warning)
        return handler(args, config)
    except (ConfigError, UsageError) as exc:
        _err(f"raqib: error: {exc}")
        return EXIT_USAGE
    except SQLAlchemyError as exc:
        _err(f"raqib: database error: {str(exc).splitlines()[0]}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err("raqib: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
