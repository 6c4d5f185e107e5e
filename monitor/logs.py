"""Log output of raqib's processes (the CLI and crawl children): our warnings always, libraries'
chatter only when asked."""

from __future__ import annotations

import logging
import sys

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


def configure_logging(verbosity: int) -> None:
    """Log to standard error: warnings (0), information (1) or everything (2: Scrapy's too)."""
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    # Libraries' chatter is for -vv; at the default level per-page crawl warnings are counted
    # in the summary instead of printed, and our own warnings about sources always show.
    quiet = (*_LIBRARIES, "crawler") if verbosity == 0 else _LIBRARIES
    for handler in logging.root.handlers:
        below = {0: logging.CRITICAL, 1: logging.ERROR}.get(verbosity, logging.DEBUG)
        handler.addFilter(_QuietLibraries(quiet, below))


def lowest_library_level() -> int:
    """The lowest level at which a library's record reaches any output (a handler of the root
    logger): records below it are made only to be dropped. Scrapy's own log counter (LogCount)
    is no output; a handler without `configure_logging`'s filter (a test's) takes everything."""
    from scrapy.utils.log import LogCounterHandler

    levels = []
    for handler in logging.root.handlers:
        if isinstance(handler, LogCounterHandler):
            continue
        quiet = [f for f in handler.filters if isinstance(f, _QuietLibraries) and "scrapy" in f.names]
        levels.append(max(handler.level, min(f.below for f in quiet)) if quiet else handler.level)
    return min(levels) if levels else logging.WARNING  # no handler: logging's last resort
