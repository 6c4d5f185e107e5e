"""docker-compose.yml: valid for `docker-compose config`, and its raqib services work when run as
plain processes — the same commands, environment and start order — against the PostgreSQL and
Redis on 127.0.0.1 (there is no Docker daemon here to run the containers themselves)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.demo.sites import demo_sources, demo_web, populate
from monitor.demo.web import wait_for
from storage.repository import Repository
from tests.conftest import ROOT
from tests.test_distributed import Proc, redis_url, start_raqib  # noqa: F401 (a fixture)

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
RAQIB_SERVICES = ("migrate", "daemon", "worker1", "worker2")


# What an operator writes into .env: passwords with the characters a URL would need escaped.
SECRETS = {"POSTGRES_PASSWORD": "p@ss:w/rd #%?&=+", "RAQIB_WEB_PASSWORD": "كلمة-سر-الويب"}


def _example_env() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _env_file(tmp_path: Path) -> Path:
    """.env.example with the secrets filled in, as an operator's .env."""
    env = {**_example_env(), **SECRETS}
    path = tmp_path / ".env"
    # Single quotes keep a value as written (a space before #, a $), as .env.example says.
    path.write_text("".join(f"{key}='{value}'\n" for key, value in env.items()), encoding="utf-8")
    return path


def _substitute(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} interpolation."""
    def one(match: re.Match) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if operator == ":?":
            raise AssertionError(f"{name} is required: {rest}")
        return rest or ""
    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _services() -> dict[str, dict]:
    """The compose file's services with YAML anchors merged and .env.example interpolated
    (with SECRETS set)."""
    env = {**_example_env(), **SECRETS}
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    for service in services.values():
        service["environment"] = {key: _substitute(str(value), env)
                                  for key, value in (service.get("environment") or {}).items()}
    return services


def _start_order(services: dict[str, dict]) -> list[str]:
    """Services in an order that honours depends_on (what compose starts first)."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name not in order:
            for dependency in services[name].get("depends_on") or {}:
                visit(dependency)
            order.append(name)
    for name in services:
        visit(name)
    return order


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("docker-compose is not installed (.ci/run installs Debian's package)")
    pytest.skip("docker-compose is not installed: apt-get install docker-compose to check the file")


def _compose_config(env_file: Path, *profiles: str) -> subprocess.CompletedProcess:
    options = [item for profile in profiles for item in ("--profile", profile)]
    return subprocess.run([_docker_compose(), "--env-file", str(env_file), "-f", str(COMPOSE),
                           *options, "config"], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_docker_compose_config_accepts_the_file(tmp_path):
    done = _compose_config(_env_file(tmp_path))
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    services = resolved["services"]
    assert set(services) - {"mailpit"} == {"db", "redis", "web", *RAQIB_SERVICES}
    for name in ("db", "redis", "worker1", "worker2", "daemon"):
        assert services[name]["healthcheck"]["test"], name
    assert services["daemon"]["healthcheck"]["test"] == ["CMD", "raqib", "run", "--check"]
    for name in RAQIB_SERVICES:
        environment = services[name]["environment"]
        # The password goes as PGPASSWORD, as written: nothing to escape in a URL.
        assert environment["RAQIB_DATABASE_URL"] == "postgresql+psycopg://raqib@db:5432/raqib"
        assert environment["PGPASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
        assert environment["RAQIB_BROKER_URL"] == "redis://redis:6379/0"
        assert "mailpit" not in (services[name].get("depends_on") or {}), name
    assert services["db"]["environment"]["POSTGRES_PASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
    assert services["daemon"]["command"] == ["run"]
    assert services["worker1"]["command"] == services["worker2"]["command"] == ["worker"]
    assert services["daemon"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert {"pgdata", "redisdata"} <= set(resolved["volumes"])
    # The web view: every address inside the container (so a password is required and given),
    # published on the host's loopback only.
    web = services["web"]
    assert web["command"] == ["web", "--host", "0.0.0.0", "--port", "8080"]
    assert web["environment"]["RAQIB_WEB_PASSWORD"] == SECRETS["RAQIB_WEB_PASSWORD"]
    assert web["environment"]["RAQIB_DATABASE_URL"] == services["daemon"]["environment"][
        "RAQIB_DATABASE_URL"]
    ports = [p if isinstance(p, str) else f"{p['host_ip']}:{p['published']}:{p['target']}"
             for p in web["ports"]]
    assert [p.removesuffix("/tcp") for p in ports] == ["127.0.0.1:8080:8080"]
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/healthz" in " ".join(web["healthcheck"]["test"])


def test_the_mail_catcher_is_an_optional_profile(tmp_path):
    raw = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    assert raw["mailpit"]["profiles"] == ["mail"]
    assert all("mailpit" not in (service.get("depends_on") or {}) for service in raw.values())
    with_mail = _compose_config(_env_file(tmp_path), "mail")
    assert with_mail.returncode == 0, with_mail.stderr
    mailpit = yaml.safe_load(with_mail.stdout)["services"]["mailpit"]
    assert mailpit["healthcheck"]["test"]


def test_the_example_env_file_does_not_start(tmp_path):
    """.env.example as shipped (no password) is refused by compose itself."""
    done = _compose_config(ENV_EXAMPLE)
    assert done.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in done.stderr


@pytest.mark.parametrize(("password", "refused"), [
    ("change-me", True), ("change-me-too", True), ("", True),
    (SECRETS["POSTGRES_PASSWORD"], False), ("كلمة$سر'مع\"رموز", False)])
def test_migrate_refuses_the_example_password_and_nothing_of_raqib_starts_without_it(
        tmp_path, password, refused):
    services = yaml.safe_load(_compose_config(_env_file(tmp_path)).stdout)["services"]
    entrypoint = [part.replace("$$", "$") for part in services["migrate"]["entrypoint"]]
    assert entrypoint[:2] == ["sh", "-c"]
    for name in ("daemon", "worker1", "worker2", "web"):
        assert services[name]["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully", name
    # The image's `raqib` is this checkout's here; --help stands for `db upgrade`.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = subprocess.run([*entrypoint, "--help"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": path, "PYTHONPATH": str(ROOT),
                               "PGPASSWORD": password}, cwd=tmp_path)
    if refused:
        assert done.returncode == 2
        assert done.stderr.startswith("raqib: error: POSTGRES_PASSWORD in .env is empty or the "
                                      "example value")
        assert done.stdout == ""
    else:
        assert done.returncode == 0, done.stderr
        assert "usage: raqib" in done.stdout


def test_secrets_come_from_an_uncommitted_env_file():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0, ".env must be ignored by git"
    example = _example_env()
    assert example["POSTGRES_PASSWORD"] == "" and example["RAQIB_WEB_PASSWORD"] == ""
    text = COMPOSE.read_text(encoding="utf-8") + (ROOT / "deploy/config/settings.yaml").read_text(
        encoding="utf-8")
    assert "${POSTGRES_PASSWORD:?" in text  # compose refuses to start without one
    assert "${RAQIB_WEB_PASSWORD:?" in text  # the web view, bound beyond loopback, needs one
    assert "raqib:${POSTGRES_PASSWORD" not in text  # never inside a URL


@pytest.mark.postgres
def test_the_compose_services_run_as_plain_processes(postgres_url, redis_url, tmp_path):  # noqa: F811
    """migrate → daemon and two workers, with compose's commands and environment, crawl the demo web."""
    services = _services()
    order = [name for name in _start_order(services) if name in RAQIB_SERVICES]
    assert order.index("migrate") < order.index("daemon")
    # The image's /etc/raqib: the shipped rules, compose's settings.yaml mounted over the
    # shipped one; the demo web stands in for the catalogue (no internet here).
    web = demo_web().start()
    processes: list[Proc] = []
    started: dict[str, Proc] = {}
    try:
        populate(web)
        config_dir = tmp_path / "etc-raqib"
        config_dir.mkdir()
        shutil.copy(ROOT / "config" / "rules.yaml", config_dir / "rules.yaml")
        (config_dir / "sources.yaml").write_text(yaml.safe_dump(
            {"sources": demo_sources(web)}, allow_unicode=True), encoding="utf-8")
        settings = yaml.safe_load((ROOT / "deploy/config/settings.yaml").read_text(encoding="utf-8"))
        settings["crawl"]["allow_private_addresses"] = True  # the demo web is on 127.0.0.1
        (config_dir / "settings.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True),
                                                  encoding="utf-8")
        # Compose's host names `db` and `redis` are this machine's servers.
        hosts = {"RAQIB_DATABASE_URL": ("@db:", postgres_url),
                 "RAQIB_BROKER_URL": ("//redis:", redis_url),
                 "RAQIB_CONFIG_DIR": ("/etc/raqib", str(config_dir))}
        for name in order:
            service = services[name]
            environment = dict(service["environment"])
            for key, (compose_value, here) in hosts.items():
                assert compose_value in environment[key], (name, key)
                environment[key] = here
            command = [sys.executable, "-m", "monitor.cli", *service["command"]]
            if name == "migrate":  # a one-off: the others wait for it to succeed
                done = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(ROOT),
                                                    **environment},
                                      cwd=ROOT, capture_output=True, text=True, timeout=120)
                assert done.returncode == 0, done.stderr
                assert "database at revision" in done.stdout
                continue
            started[name] = _service_process(name, service, environment, tmp_path)
            processes.append(started[name])
        repository = Repository(postgres_url, check=False)
        expected = {"waha": 4, "sahifa": 3, "gulfdaily": 2}
        assert wait_for(lambda: {s: repository.articles.count(s) for s in expected} == expected,
                        timeout=180, interval=1), "\n".join(p.text()[-2000:] for p in processes)
        # The workers' health check, as compose runs it.
        health = services["worker1"]["healthcheck"]["test"][1:]
        assert health[:3] == ["python", "-m", "monitor.daemon.workers"]
        ping = subprocess.run([sys.executable, *health[1:]], cwd=ROOT, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT),
                                   **{**services["worker1"]["environment"],
                                      "RAQIB_BROKER_URL": redis_url,
                                      "RAQIB_DATABASE_URL": postgres_url,
                                      "RAQIB_CONFIG_DIR": str(config_dir)}})
        assert ping.returncode == 0
        # The daemon's health check, as compose runs it: healthy while it schedules.
        assert _daemon_check(services, postgres_url, redis_url, config_dir).returncode == 0
        assert "queued for a worker" in started["daemon"].text()
        worker_logs = started["worker1"].text() + started["worker2"].text()
        assert all(f"crawl {source}: ok" in worker_logs for source in expected)
        for process in reversed(processes):  # compose stops dependants first
            assert process.stop(timeout=90) == 0, process.text()[-2000:]
        stopped = _daemon_check(services, postgres_url, redis_url, config_dir)
        assert stopped.returncode == 1 and "no daemon is scheduling" in stopped.stderr
        repository.close()
    finally:
        for process in processes:
            process.kill()
        web.stop()


def _daemon_check(services: dict, postgres_url: str, redis_url: str,  # noqa: F811
                  config_dir: Path) -> subprocess.CompletedProcess:
    test = services["daemon"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "raqib"]
    return subprocess.run([sys.executable, "-m", "monitor.cli", *test[2:]], cwd=ROOT, timeout=60,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               **{**services["daemon"]["environment"],
                                  "RAQIB_BROKER_URL": redis_url,
                                  "RAQIB_DATABASE_URL": postgres_url,
                                  "RAQIB_CONFIG_DIR": str(config_dir)}})


def _service_process(name: str, service: dict, environment: dict, tmp_path: Path) -> Proc:
    # No --config-dir: like the container, the process finds it through RAQIB_CONFIG_DIR.
    return start_raqib(None, tmp_path / f"{name}.log", *service["command"], env=environment)
