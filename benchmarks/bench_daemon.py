"""Daemon benchmark: 200 crawl cycles of the sample web under `Daemon`, as `raqib run` runs them.

Prints the daemon process's RSS at cycle 10 and at the last cycle (goal: growth under 10%) and
the scheduling delay of the crawl jobs (goal: under 1 s). Each crawl is a child process, so the
daemon's own memory is what must stay flat.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from monitor.daemon import Daemon  # noqa: E402
from monitor.demo.sites import demo_sources, demo_web, populate  # noqa: E402
from tests.fixture_web import write_config  # noqa: E402


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--every", default="3s", help="each source's schedule")
    args = parser.parse_args()
    web = demo_web().start()
    populate(web)
    with tempfile.TemporaryDirectory() as tmp:
        sources = [dict(s, schedule={"every": args.every}) for s in demo_sources(web)]
        config = write_config(Path(tmp) / "config", sources, f"sqlite:///{tmp}/bench.db")
        settings = yaml.safe_load((config / "settings.yaml").read_text())
        settings["daemon"] = {"jitter": "0s", "max_parallel_crawls": 2}
        (config / "settings.yaml").write_text(yaml.safe_dump(settings))
        daemon = Daemon(config)
        done = []
        lock = threading.Lock()
        original = daemon.crawl_source

        def counted(source_id: str):
            outcome = original(source_id)
            with lock:
                done.append(time.monotonic())
                if len(done) == 10:
                    samples["rss_10"] = rss_mib()
            return outcome

        samples: dict[str, float] = {"rss_start": rss_mib()}
        daemon.crawl_source = counted
        started = time.monotonic()
        daemon.start()
        try:
            while len(done) < args.cycles:
                time.sleep(0.5)
        finally:
            samples["rss_end"] = rss_mib()
            daemon.shutdown()
            web.stop()
        seconds = time.monotonic() - started
        delays = sorted(daemon.scheduling_delays)
        growth = (samples["rss_end"] - samples["rss_10"]) / samples["rss_10"] * 100
        print(f"{len(done)} crawl cycles of {len(sources)} sources in {seconds:.0f} s")
        print(f"daemon RSS: start {samples['rss_start']:.1f} MiB, cycle 10 {samples['rss_10']:.1f} MiB, "
              f"cycle {len(done)} {samples['rss_end']:.1f} MiB (growth {growth:+.1f}%)")
        print(f"scheduling delay over {len(delays)} job starts: median "
              f"{statistics.median(delays) * 1000:.0f} ms, p95 {delays[int(len(delays) * 0.95)] * 1000:.0f} ms, "
              f"max {delays[-1] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
