"""Library records are not made when no output would show them (monitor.logs)."""

from __future__ import annotations

import logging

from monitor.logs import _QuietLibraries, lowest_library_level


def test_the_quiet_filter_decides_where_library_records_start():
    from scrapy.utils.log import LogCounterHandler

    saved = logging.root.handlers[:]  # pytest's own capture handlers among them
    try:
        logging.root.handlers[:] = []
        assert lowest_library_level() == logging.WARNING  # logging's last resort
        quiet = logging.StreamHandler()
        quiet.addFilter(_QuietLibraries(("scrapy", "twisted"), logging.CRITICAL))
        logging.root.handlers.append(quiet)
        counter = LogCounterHandler.__new__(LogCounterHandler)  # counts, shows nothing
        logging.root.handlers.append(counter)
        assert lowest_library_level() == logging.CRITICAL
        chatty = logging.StreamHandler()
        chatty.setLevel(logging.INFO)  # no filter: Scrapy's INFO records show there
        logging.root.handlers.append(chatty)
        assert lowest_library_level() == logging.INFO
    finally:
        logging.root.handlers[:] = saved
