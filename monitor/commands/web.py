"""`raqib web`: the analysts' web view over the configured database."""

from __future__ import annotations

import argparse
import errno
import socket

from monitor.commands import EXIT_FAILED, EXIT_OK, UsageError, err, open_repository
from monitor.config import Config


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register this group's sub-commands on `raqib`'s command parser."""
    web = commands.add_parser(
        "web", help="the analysts' web view: inbox, search, stories, sources, rules, feeds",
        description="Serve the web view over the configured database (read-only towards "
                    "articles and rules): / the inbox of flagged stories, /search?q=QUERY a "
                    "search in the watch rules' query syntax, /feeds/rule/<id>.atom a rule's "
                    "Atom feed. It binds to 127.0.0.1 unless told otherwise; any other address "
                    "needs a password in the environment variable that settings.yaml's "
                    "web.password_env names.")
    web.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only)")
    web.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    web.set_defaults(handler=cmd_web)


def cmd_web(args: argparse.Namespace, config: Config) -> int:
    from monitor.web.access import AccessError, check_bind

    settings = config.settings.web
    try:
        check_bind(args.host, settings.password, settings.password_env)
    except AccessError as exc:
        raise UsageError(str(exc)) from exc
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: use 1 to 65535")
    problem = _cannot_bind(args.host, args.port)
    if problem:
        err(f"raqib: cannot listen on {args.host}:{args.port}: {problem}")
        return EXIT_FAILED

    import uvicorn

    from monitor.web import create_app

    app = create_app(config, open_repository(config))
    shown = f"[{args.host}]" if ":" in args.host else args.host
    access = "password required" if settings.password else "no password: this machine only"
    err(f"raqib web: http://{shown}:{args.port}/ ({access}); Ctrl-C stops it")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", server_header=False,
                proxy_headers=False)
    return EXIT_OK


def _cannot_bind(host: str, port: int) -> str | None:
    """Why the address cannot be listened on (in use, not on this machine), or None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"unknown host ({exc.strerror})"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
    return None
