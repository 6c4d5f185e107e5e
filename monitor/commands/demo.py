"""`raqib demo`: crawl a bundled sample of news sites on 127.0.0.1."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.commands import EXIT_FAILED, EXIT_OK, clip, err
from monitor.commands.crawl import print_crawl_summary
from monitor.config import Config
from storage.db import display_url


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register this group's sub-commands on `raqib`'s command parser."""
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


def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from monitor.demo.tour import DemoError, run_demo

    err("raqib demo: serving three sample news sites on 127.0.0.1 and crawling them…")
    try:
        # --db as resolved by the configuration: a relative SQLite file is in this directory.
        result = run_demo(args.preview.resolve(),
                          database_url=config.settings.database_url if args.db else None)
    except DemoError as exc:
        err(f"raqib: demo failed: {exc}")
        return EXIT_FAILED
    print_crawl_summary(result.reports)
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
                print("     matched: " + clip(" · ".join(why["clauses"]), 150))
            for snippet in why.get("snippets", [])[:2]:
                print(f"     «{clip(snippet, 110)}»")
    if result.preview:
        print(f"\ndigest preview: {result.preview} — {result.digest_subject}")
    else:
        print("\nno digest preview: nothing matched the digest's rules")
    where = "a temporary database (gone now)" if not args.db else \
        display_url(config.settings.database_url)
    err(f"done in {result.seconds:.0f}s; the articles went to {where}. Next: `raqib sources "
        "list`, then `raqib crawl` on the real catalogue (needs the internet).")
    return EXIT_OK
