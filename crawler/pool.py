"""The extraction processes: a process pool that survives the death of one of its workers.

A worker killed from outside (the OOM killer, an operator's kill -9) breaks a
`ProcessPoolExecutor` for good: every page in flight and every page after it would fail with
BrokenProcessPool. That is the crawler's fault, not the pages': `ExtractionPool.restart`
replaces the broken pool (once, however many pages noticed), and crawler.pipelines submits
those pages again. The watch rules are handed to each worker once, when it starts
(`crawler.extraction.prime`), not pickled with every page.
"""

from __future__ import annotations

import logging
import sys
import types
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

from crawler.extraction import prime

log = logging.getLogger(__name__)


class ExtractionPool:
    """`workers` spawned processes, primed with the rule set; restarted when broken."""

    def __init__(self, workers: int, rules: Any = None) -> None:
        self.workers = workers
        self.rules = rules
        self.generation = 0  # which pool a submission went to: restart only that one
        self.restarts = 0
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=_WorkerContext(),
                                   initializer=prime, initargs=(self.rules,))

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        return self._pool.submit(fn, *args, **kwargs)

    def restart(self, generation: int) -> None:
        """Replace the pool of `generation` if it is still the current one (a broken pool is
        noticed by every page that was in it: the first restarts, the others resubmit)."""
        if generation != self.generation:
            return
        broken, self._pool = self._pool, self._start()
        self.generation += 1
        self.restarts += 1
        log.warning("an extraction process died: extraction pool restarted (%d so far)",
                    self.restarts)
        broken.shutdown(wait=False, cancel_futures=True)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


class _WorkerProcess(SpawnProcess):
    """A spawned extraction process that does not import the parent's main module: spawn runs
    it again in every child (`raqib crawl`'s is monitor.cli: SQLAlchemy, pydantic, every
    command; 0.5 s of CPU and some 30 MB a worker), and an extraction worker needs none of it."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:  # noqa: N802 (multiprocessing's name)
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")  # nothing to run again
        try:
            return SpawnProcess._Popen(process_obj)
        finally:
            sys.modules["__main__"] = main


class _WorkerContext(SpawnContext):
    Process = _WorkerProcess
