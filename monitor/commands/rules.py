"""`raqib rules test` and `raqib rules apply`: try and re-apply the watch rules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.commands import (
    EXIT_OK,
    UsageError,
    check_ids,
    clip,
    err,
    open_repository,
    parse_count,
    parse_id,
    parse_since,
    print_table,
)
from monitor.config import Config


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register this group's sub-commands on `raqib`'s command parser."""
    rules = commands.add_parser(
        "rules", help="try and re-apply the watch rules",
        description="The watch rules of rules.yaml: `test` shows how they judge a text or "
                    "stored articles, `apply` stores what they decide now.").add_subparsers(
        dest="rules_command", metavar="SUBCOMMAND", required=True)
    test = rules.add_parser(
        "test", help="which rules match a text, or what re-running them would change",
        description="Read a text (first line: the title; the rest: the body) from FILE or, with "
                    "- or nothing, from standard input, or take a stored article (--article), "
                    "and show every rule's verdict and why: the clauses that matched with "
                    "snippets, the clauses that failed (shortest first), or the NOT that "
                    "excluded it. With --stored, re-run the rules over stored articles instead "
                    "and list the articles whose matches would change (nothing is written).")
    test.add_argument("file", nargs="?", metavar="FILE|-", help="the text (default: stdin)")
    test.add_argument("--article", metavar="ID", type=parse_id,
                      help="a stored article instead of a text (its title, body, language and "
                           "source; `raqib items` shows ids)")
    test.add_argument("--rule", metavar="ID", help="only this rule")
    test.add_argument("--language", choices=("ar", "en"),
                      help="the text's language (default: detected from its script)")
    test.add_argument("--source", metavar="ID",
                      help="the text's source, for source:, country: and kind: clauses (its "
                           "country and kind come from sources.yaml); with --stored: only this "
                           "source's articles")
    test.add_argument("--country", metavar="CC", help="the text's country (default: its source's)")
    test.add_argument("--kind", choices=("agency", "government", "press"),
                      help="the kind of the text's source (default: its source's)")
    test.add_argument("--stored", action="store_true",
                      help="re-run the rules over stored articles and show what would change")
    test.add_argument("--since", metavar="DATE", type=parse_since,
                      help="with --stored: published (or fetched) since (YYYY-MM-DD, 24h, 7d)")
    test.add_argument("--limit", metavar="N", type=parse_count, default=0,
                      help="with --stored: at most N articles, oldest first (default: all)")
    test.set_defaults(handler=cmd_rules_test)
    apply = rules.add_parser(
        "apply", help="update the stored matches after the rules were edited",
        description="Re-run the current rules over stored articles (or those since DATE) and "
                    "store the matches that changed: new matches, matches no rule makes any "
                    "more, and refreshed explanations. A match that stays keeps its date, so "
                    "digests do not send it again.")
    apply.add_argument("--since", metavar="DATE", type=parse_since,
                       help="published (or fetched) since: YYYY-MM-DD, ISO date-time, or 24h / 7d")
    apply.set_defaults(handler=cmd_rules_apply)


def cmd_rules_test(args: argparse.Namespace, config: Config) -> int:
    from monitor import rules_review

    rules = config.rule_set()
    sources = {source.id: source for source in config.sources}
    if args.stored:
        if args.file or args.rule or args.language or args.article or args.country or args.kind:
            raise UsageError("--stored re-runs every rule over stored articles: it takes no "
                             "FILE, --article, --rule, --language, --country or --kind")
        repository = open_repository(config)
        check_ids(config, repository, source=args.source)
        review = rules_review.review_stored(rules, repository, since=args.since,
                                            source=args.source, limit=args.limit or None,
                                            sources=sources)
        print_table(["id", "title", "added", "removed"],
                    [[str(c.article_id), clip(c.title or "(no title)", 60), ",".join(c.added),
                      ",".join(c.removed) or ("(explanation)" if not c.added else "")]
                     for c in review.changes])
        err(f"{review.articles} stored article(s) re-evaluated: {len(review.changes)} would "
            f"change ({review.added} match(es) added, {review.removed} removed); nothing written "
            f"(`raqib rules apply` writes it)")
        return EXIT_OK
    if args.since or args.limit:
        raise UsageError("--since and --limit go with --stored")
    title, body, language, source_id = _text(args, config)
    if args.source:
        source_id = config.source(args.source).id  # an unknown id is a usage error
    source = sources.get(source_id or "")
    country = args.country or (source.country if source else None)
    kind = args.kind or (source.kind if source else None)
    try:
        verdicts = rules_review.explain_text(rules, title, body, language, args.rule,
                                             source=source_id, country=country, kind=kind)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from exc
    how = "given" if args.language else "stored" if args.article else (
        "detected" if language else "unknown")
    print(f"title: {clip(title, 90)}\nlanguage: {language or '?'} ({how}); "
          f"{len(verdicts)} rule(s), {sum(v.matched for v in verdicts)} matched")
    known = ", ".join(value for value in (country and country.upper(), kind) if value)
    if source_id or known:
        print(f"source: {source_id or '?'}{f' ({known})' if known else ''}")
    for verdict in verdicts:
        print(f"\n{'MATCH' if verdict.matched else 'no   '}  {verdict.rule_id} — {verdict.name}")
        for reason in verdict.reasons:
            print(f"       {reason}")
        for snippet in verdict.snippets:
            print(f"       « {snippet} »")
    return EXIT_OK


def _text(args: argparse.Namespace, config: Config) -> tuple[str, str, str | None, str | None]:
    """The title, body, language and source id that `rules test` looks at."""
    from monitor import rules_review

    if args.article is not None:
        if args.file:
            raise UsageError("give a FILE or --article, not both")
        found = open_repository(config).articles.find(ids=[args.article], limit=None)
        if not found:
            raise UsageError(f"no stored article {args.article} (`raqib items` lists them)")
        article = found[0]
        return article.title or "", article.text, args.language or article.language, article.source
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
    return title, body, args.language or rules_review.detect_language(f"{title}\n{body}"), None


def cmd_rules_apply(args: argparse.Namespace, config: Config) -> int:
    from monitor.rules_review import apply_stored

    review = apply_stored(config.rule_set(), open_repository(config), since=args.since,
                          sources={source.id: source for source in config.sources})
    refreshed = sum(1 for c in review.changes if not c.added and not c.removed)
    print(f"re-evaluated {review.articles} stored article(s) with {len(config.rules)} rule(s): "
          f"{len(review.changes)} updated ({review.added} match(es) added, {review.removed} "
          f"removed, {refreshed} explanation(s) refreshed); {review.flagged} flagged now")
    return EXIT_OK
