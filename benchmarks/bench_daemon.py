"""Daemon benchmark: what a quiet poll costs, and whether the daemon's memory stays flat.

`raqib run` is started as users start it, over local sources that each poll a feed every
`--every`; after their first crawls (children) every later poll finds nothing new.

1. CPU per quiet poll: the CPU-seconds of the daemon's whole process tree (itself, and every
   child it started and reaped) over a window, divided by the polls recorded in it — set side
   by side, in the same window, with the baseline of the issue: a fresh `python -c` process
   that fetches the same feed with its ETag and gets 304 (its CPU from wait4). With
   `--child-samples N`, also the old way: N crawl children (`python -m crawler.child`) of a
   quiet source. Derived: sources one core can poll every 15 minutes.
3. `raqib crawl` from the shell (`--first-request N`): time from the process's start to its
   first HTTP request (robots.txt) on a local site, over an existing database, wall-clock and
   the CPU-seconds the process had used by then (the figure a loaded machine does not bend).
2. Soak (`--soak N`): N poll cycles (one poll of one source each); every 100 cycles an article
   is published, so crawl children run too. RSS of the daemon's process tree at cycle 50 and
   at cycle N (goal: under 10% growth).

    python benchmarks/bench_daemon.py --sources 5 --every 2s --window 60 --soak 1000
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from monitor.demo.sites import SampleArticle, article_page, demo_web, populate  # noqa: E402
from monitor.demo.web import Page, wait_for  # noqa: E402
from storage.repository import Repository  # noqa: E402
from tests.fixture_web import write_config  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
UA = "raqib/1.0 (+https://example.org/raqib)"
BASELINE = """
import sys, urllib.request, urllib.error
request = urllib.request.Request(sys.argv[1], headers={"If-None-Match": sys.argv[2],
                                                       "User-Agent": sys.argv[3]})
try:
    urllib.request.urlopen(request, timeout=10)
    sys.exit("expected 304")
except urllib.error.HTTPError as exc:
    sys.exit(0 if exc.code == 304 else f"HTTP {exc.code}")
"""


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from 3 (state) on


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_cpu(root: int) -> float:
    """CPU-seconds of a process tree: the live processes, and the children they reaped."""
    total = 0
    for pid in _tree(root):
        fields = _stat(pid)
        if fields:  # utime, stime, cutime, cstime: fields 14-17
            total += sum(int(value) for value in fields[11:15])
    return total / TICK


def tree_rss_mib(root: int, alone: bool = False) -> float:
    """RSS of a process tree (or of its root alone) in MiB."""
    total = 0
    for pid in [root] if alone else _tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def fresh_process_poll(url: str, etag: str) -> float:
    """CPU-seconds of a fresh Python process's conditional GET of `url` (the baseline)."""
    process = subprocess.Popen([sys.executable, "-c", BASELINE, url, etag, UA])
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"baseline poll failed: exit {process.returncode}")
    return usage.ru_utime + usage.ru_stime


def crawl_child_poll(config_dir: Path, database_url: str, source: str) -> float:
    """CPU-seconds of one crawl child of a quiet source (the way before the poll gate)."""
    from monitor.daemon.crawls import crawl_in_child

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    outcome = crawl_in_child(source, config_dir=config_dir, database_url=database_url,
                             time_limit=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if outcome.status != "ok":
        raise RuntimeError(f"crawl child: {outcome.status} {outcome.error}")
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def runs(repository: Repository, sources: list[str], status: str | None = None) -> int:
    return sum(1 for source in sources for run in repository.runs.recent(source, limit=100000)
               if status is None or run.status == status)


def publish(web, number: int) -> None:
    site = web["waha"]
    article = SampleArticle(
        slug=f"bench-{number}", site="waha",
        title=f"اجتماع اللجنة التنفيذية للحكومة الإلكترونية رقم {number}",
        dateline="الرياض (واس)", jsonld_date="2024-11-20T10:00:00+03:00",
        paragraphs=(f"عقدت اللجنة التنفيذية للحكومة الإلكترونية بدول مجلس التعاون اجتماعها رقم "
                    f"{number} لمناقشة مشاريع التحول الرقمي المشتركة وتبادل البيانات بين الدول "
                    "الأعضاء ومتابعة تنفيذ قرارات اللجنة الوزارية.",
                    "واستعرض الاجتماع تقارير فرق العمل المعنية بالهوية الرقمية والخدمات "
                    "الحكومية الموحدة، وأقر عدداً من التوصيات."))
    site.add(article.path, article_page(article, site.url(article.path), "واحة", "ar"))
    feed = site.pages["/rss.xml"].data.decode()
    feed = feed.replace("<item>", f"<item><title>{article.title}</title><link>"
                                  f"{site.url(article.path)}</link><pubDate>Wed, 20 Nov 2024 "
                                  "07:00:00 GMT</pubDate></item><item>", 1)
    site.add("/rss.xml", Page(feed, content_type="application/rss+xml"))


def first_request(web, runs_wanted: int) -> None:
    """`raqib crawl waha` N times over a database it already crawled: seconds to the first
    request, wall-clock and CPU."""
    site = web["waha"]
    seen: dict = {}

    class Hits(type(site.hits)):
        def __setitem__(self, key, value):
            if "wall" not in seen:
                seen["wall"] = time.monotonic()
                seen["cpu"] = tree_cpu(seen["pid"])
            super().__setitem__(key, value)

    with tempfile.TemporaryDirectory() as tmp:
        source = {"id": "waha", "name": "واحة", "country": "SA", "language": "ar",
                  "kind": "agency", "feeds": [site.url("/rss.xml")]}
        config = write_config(Path(tmp) / "config", [source], f"sqlite:///{tmp}/crawl.db")
        command = [sys.executable, "-m", "monitor.cli", "--config-dir", str(config), "crawl", "waha"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True)
        walls, cpus = [], []
        for _ in range(runs_wanted):
            site.hits = Hits()
            seen.clear()
            started = time.monotonic()
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            seen["pid"] = process.pid
            process.wait()
            walls.append(seen["wall"] - started)
            cpus.append(seen["cpu"])
        print(f"raqib crawl, first request after: median {statistics.median(walls):.2f} s wall "
              f"(min {min(walls):.2f}), {statistics.median(cpus):.2f} CPU-s "
              f"(min {min(cpus):.2f}) over {runs_wanted} runs (goal < 1.5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=5)
    parser.add_argument("--every", default="2s", help="each source's schedule")
    parser.add_argument("--window", type=float, default=60, help="seconds of quiet polls measured")
    parser.add_argument("--child-samples", type=int, default=3,
                        help="crawl children of a quiet source measured (the old way)")
    parser.add_argument("--soak", type=int, default=0, help="poll cycles of the soak (0: none)")
    parser.add_argument("--broker", metavar="URL",
                        help="crawl through a `raqib worker` on this broker (e.g. "
                             "redis://127.0.0.1:6379/0): the CPU of the daemon's and the "
                             "worker's process trees together")
    parser.add_argument("--first-request", type=int, default=0, metavar="N",
                        help="only measure `raqib crawl`'s time to its first request, N runs")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    web = demo_web().start()
    populate(web)
    if args.first_request:
        first_request(web, args.first_request)
        web.stop()
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return
    feed = web["waha"].url("/rss.xml")
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{tmp}/bench.db"
        ids = [f"feed{i}" for i in range(args.sources)]
        # One feed each (the same feed under its own address: its own validators).
        sources = [{"id": source, "name": f"مصدر {i}", "country": "SA", "language": "ar",
                    "kind": "agency", "schedule": {"every": args.every},
                    "feeds": [f"{feed}?source={source}"]} for i, source in enumerate(ids)]
        config = write_config(Path(tmp) / "config", sources, database_url)
        settings = yaml.safe_load((config / "settings.yaml").read_text())
        settings["daemon"] = {"jitter": "0s", "max_parallel_crawls": 2, "grace_period": "10s"}
        if args.broker:
            settings["broker_url"] = args.broker
        (config / "settings.yaml").write_text(yaml.safe_dump(settings))
        repository = Repository(database_url)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        daemon = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "--config-dir", str(config), "run"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        worker = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "--config-dir", str(config), "worker"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) \
            if args.broker else None

        def cpu() -> float:
            return tree_cpu(daemon.pid) + (tree_cpu(worker.pid) if worker else 0.0)

        try:
            if not wait_for(lambda: all(runs(repository, [source], "unchanged") for source in ids),
                            timeout=300):
                raise SystemExit("the daemon did not reach quiet polls")
            time.sleep(5)  # the first crawls' children reaped, the outbox's first full build done
            validators = repository.crawl.validators(f"{feed}?source={ids[0]}")
            # --- 1. CPU per quiet poll, and the baseline in the same window -------------------
            cpu0, polls0, all0 = cpu(), runs(repository, ids, "unchanged"), \
                runs(repository, ids)
            started = time.monotonic()
            baseline = []
            while time.monotonic() - started < args.window:
                baseline.append(fresh_process_poll(f"{feed}?source={ids[0]}", validators.etag))
                time.sleep(1.0)
            elapsed = time.monotonic() - started
            cpu1, polls1, all1 = cpu(), runs(repository, ids, "unchanged"), \
                runs(repository, ids)
            quiet = polls1 - polls0
            if all1 - all0 != quiet:
                print(f"warning: {all1 - all0 - quiet} poll(s) in the window were not quiet")
            per_poll = (cpu1 - cpu0) / max(quiet, 1)
            fresh = statistics.median(baseline)
            trees = "daemon and worker process trees" if worker else "daemon process tree"
            print(f"quiet polls: {quiet} in {elapsed:.0f} s ({args.sources} sources every "
                  f"{args.every}); {trees} {cpu1 - cpu0:.2f} CPU-s "
                  f"→ {per_poll * 1000:.1f} ms per quiet poll")
            print(f"baseline, a fresh python -c conditional GET of the same feed (304), "
                  f"{len(baseline)} runs in the same window: median {fresh * 1000:.1f} ms "
                  f"(min {min(baseline) * 1000:.1f}, max {max(baseline) * 1000:.1f})")
            print(f"ratio: a quiet poll costs {per_poll / fresh:.2f}× the fresh-process baseline "
                  f"(goal ≤ 1.0, beyond: 0.3)")
            print(f"derived: one core polls {900 / per_poll:,.0f} quiet sources every 15 minutes "
                  f"(the fresh-process way: {900 / fresh:,.0f})")
            if args.child_samples:
                child = [crawl_child_poll(config, database_url, ids[0])
                         for _ in range(args.child_samples)]
                print(f"the old way, a crawl child of a quiet source ({len(child)} runs): median "
                      f"{statistics.median(child) * 1000:.0f} ms "
                      f"({statistics.median(child) / fresh:.1f}× the baseline)")
            print(f"load average after part 1: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            # --- 2. soak ----------------------------------------------------------------------
            if args.soak:
                first = runs(repository, ids)
                soak_from = datetime.now(UTC)
                published, sampled, rss, tree = 0, None, [], []
                soak_started = time.monotonic()
                while (done := runs(repository, ids) - first) < args.soak:
                    if done // 100 > published:
                        published += 1
                        publish(web, published)
                    if sampled is None and done >= 50:
                        sampled = tree_rss_mib(daemon.pid, alone=True)
                    rss.append(tree_rss_mib(daemon.pid, alone=True))
                    tree.append(tree_rss_mib(daemon.pid))
                    time.sleep(0.5)
                end = tree_rss_mib(daemon.pid, alone=True)
                counts: dict[str, int] = {}
                for source in ids:
                    for run in repository.runs.recent(source, limit=100000):
                        if run.started_at >= soak_from:
                            counts[run.status] = counts.get(run.status, 0) + 1
                sampled = sampled or rss[0]
                print(f"soak: {runs(repository, ids) - first} poll cycles in "
                      f"{time.monotonic() - soak_started:.0f} s ({published} articles published; "
                      f"runs by status {counts})")
                print(f"daemon RSS (the tree between crawls): cycle 50 {sampled:.1f} MiB, cycle "
                      f"{args.soak} {end:.1f} MiB (growth {(end - sampled) / sampled * 100:+.1f}%); "
                      f"whole tree: max {max(tree):.1f} MiB while a crawl child ran, "
                      f"{tree_rss_mib(daemon.pid):.1f} MiB at the end")
                print(f"articles stored: {repository.articles.count()}")
        finally:
            for process in filter(None, (daemon, worker)):
                process.terminate()
                process.wait(60)
            web.stop()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
