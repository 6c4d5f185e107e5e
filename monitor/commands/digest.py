"""`raqib digest send`: build and send the digests that are due."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.commands import EXIT_FAILED, EXIT_OK, clip, err, open_repository, print_table
from monitor.config import Config


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register this group's sub-commands on `raqib`'s command parser."""
    digest = commands.add_parser(
        "digest", help="e-mail and chat digests: send the due ones now, or preview them",
        description="The digests of settings.yaml (the daemon sends them on their "
                    "schedules; this sends them now).").add_subparsers(
        dest="digest_command", metavar="SUBCOMMAND", required=True)
    send = digest.add_parser(
        "send", help="build and send the digests that are due now",
        description="Build every due digest (or the named one) for each e-mail recipient and "
                    "chat channel and send it (e-mail through settings.yaml's SMTP server, "
                    "channels through Apprise); messages that could not be sent earlier are retried first. "
                    "A cron digest is due when its schedule has fired since its last message, "
                    "an immediate one whenever something new matched. Exit 0 when everything "
                    "went out, 1 when a message could not be sent (it stays queued for the next "
                    "run) or was refused for good, 2 on a configuration error.")
    send.add_argument("digest_id", nargs="?", metavar="DIGEST_ID",
                      help="only this digest (an id of settings.yaml's digests:)")
    look = send.add_mutually_exclusive_group()
    look.add_argument("--dry-run", action="store_true",
                      help="print what would go out; build, send and change nothing")
    look.add_argument("--preview", metavar="FILE.html", type=Path,
                      help="write the digest's HTML to FILE.html; send and change nothing")
    send.add_argument("--force", action="store_true",
                      help="also digests whose schedule has not fired since their last message")
    send.add_argument("--retry-refused", action="store_true",
                      help="queue again the messages a server or channel refused for good "
                           "(once the address or channel is fixed), then send")
    send.set_defaults(handler=cmd_digest_send)


def cmd_digest_send(args: argparse.Namespace, config: Config) -> int:
    from monitor.digest.run import run_digests
    from monitor.digest.select import chosen_digests

    looking = args.dry_run or args.preview is not None
    repository = open_repository(config)
    if args.retry_refused and not looking:
        if args.digest_id:
            chosen_digests(config, args.digest_id)  # an unknown id is an error, not a no-op
        requeued = repository.outbox.requeue_refused(args.digest_id)
        err(f"raqib: {requeued} refused message(s) queued again")
    reports = run_digests(config, repository, digest_id=args.digest_id,
                          only_due=not args.force, dry_run=args.dry_run, preview=args.preview,
                          send=not looking)
    if not reports:
        err("no digest is due now (--force sends what is new anyway)")
        return EXIT_OK
    if args.dry_run:
        for report in reports:
            if report.text:
                print(f"=== {report.digest_id} → {report.recipient} ({report.status}): "
                      f"{report.subject}\n{report.text}")
    # Stories, as the subject counts them: copies of one story from several sources are one.
    print_table(["digest", "recipient", "status", "stories", "subject", "note"],
                [[r.digest_id, r.recipient, r.status,
                  "—" if r.stories is None else str(r.stories), clip(r.subject or "—", 60),
                  clip(str(r.preview or r.error or ""), 100)] for r in reports])
    failed = [r for r in reports if r.status in ("failed", "refused")]
    for report in failed:
        fate = ("refused for good (`--retry-refused` queues it again)"
                if report.status == "refused" else "not sent (queued for the next run)")
        err(f"raqib: digest '{report.digest_id}' to {report.recipient} {fate}: {report.error}")
    return EXIT_FAILED if failed else EXIT_OK
