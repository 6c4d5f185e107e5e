"""Hostile-web benchmark: `raqib crawl` of every attack site of tests/hostile at once.

Prints, per run: exit code, wall time and the crawl child's peak RSS (its own and its
children's, from wait4), and the bytes the attack server handed over for the bombs, floods
and the huge robots.txt. The bombs alone hold over 3 GiB once decompressed.

    python benchmarks/bench_hostile.py [RUNS]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixture_web import write_config  # noqa: E402
from tests.hostile import sites  # noqa: E402
from tests.hostile.conftest import CRAWL, run_measured  # noqa: E402
from tests.hostile.web import HostileWeb  # noqa: E402

WATCHED = [("robotshuge.test", "/robots.txt"), ("headers.test", "/news/endless-headers.html"),
           ("headers.test", "/news/many-headers.html"), ("bombs.test", "/news/gzip.html"),
           ("bombs.test", "/news/br.html"), ("slow.test", "/news/slow-body.html")]


def main(runs: int) -> None:
    web = HostileWeb().start()
    try:
        attacks = sites.build(web)
        print(f"{len(attacks)} attack sites on {web.url('*.test')}, settings {CRAWL}")
        for run in range(runs):
            web.sent.clear()
            directory = Path(tempfile.mkdtemp(prefix="raqib-bench-hostile-"))
            config = write_config(directory / "config", sites.sources_yaml(attacks),
                                  f"sqlite:///{directory}/raqib.db", **CRAWL)
            result = run_measured("--config-dir", str(config), "crawl", env=web.environment())
            sent = ", ".join(f"{path} {web.sent[(host, path)] / 2**20:.1f} MiB"
                             for host, path in WATCHED)
            print(f"run {run + 1}: exit {result.returncode}, {result.seconds:.1f} s, "
                  f"peak RSS {result.max_rss_mb:.0f} MB; served {sent}")
    finally:
        web.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
