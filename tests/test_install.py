"""The package installs whole: the wheel, installed in a fresh virtualenv outside the checkout,
runs the demo and finds its shipped configuration from any directory.

The wheel is built from the files the Dockerfile's build stage copies, with the test
environment's own setuptools (no network); the new virtualenv takes raqib's dependencies from
the test environment's site-packages (a path, not a site: its .pth files, among them the
editable install of this checkout, are not read) and raqib itself only from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def _build_stage_sources() -> list[str]:
    """What the Dockerfile's build stage copies from the checkout."""
    stage = DOCKERFILE.read_text(encoding="utf-8").split("\nFROM ", 2)[1]
    sources = []
    for line in stage.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            sources += line.split()[1:-1]
    return sources


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 120
         ) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """raqib's wheel installed in a fresh virtualenv; the environment to run it in."""
    work = tmp_path_factory.mktemp("install")
    source = work / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.egg-info")
    for name in _build_stage_sources():
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "RAQIB_CONFIG_DIR", "RAQIB_DATABASE_URL", "VIRTUAL_ENV")}
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--no-index", "--wheel-dir", str(work / "dist"), str(source)],
                 cwd=work, env=env, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (work / "dist").glob("raqib-*.whl")

    venv = work / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work, env=env)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     cwd=work, env=env).stdout.strip())
    # The dependencies: the test environment's site-packages as a plain path.
    (site / "raqib-test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                 "--no-index", str(wheel)], cwd=work, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    return {"raqib": str(venv / "bin" / "raqib"), "python": str(python), "cwd": elsewhere,
            # raqib's data directory (where the shipped settings' database is) of a new user.
            "env": {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
                    "XDG_DATA_HOME": str(work / "data-home")},
            "wheel": wheel}


def test_raqib_runs_from_the_wheel_not_from_the_checkout(installed):
    found = _run([installed["python"], "-c",
                  "import monitor, crawler, storage, monitor.config as c; "
                  "print(monitor.__file__, crawler.__file__, storage.__file__, c.default_config_dir())"],
                 cwd=installed["cwd"], env=installed["env"])
    assert found.returncode == 0, found.stderr
    paths = found.stdout.split()
    assert all("site-packages" in path and str(ROOT) not in path for path in paths), paths
    assert paths[-1].endswith(os.path.join("monitor", "default_config"))


def test_sources_list_and_crawl_help_from_another_directory(installed):
    listing = _run([installed["raqib"], "sources", "list"], cwd=installed["cwd"],
                   env=installed["env"])
    assert listing.returncode == 0, listing.stderr
    shipped = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
    enabled = [source["id"] for source in shipped["sources"] if source.get("enabled", True)]
    listed = [line.split()[0] for line in listing.stdout.splitlines()[2:] if line.strip()]
    assert listed == enabled, listing.stdout  # the shipped catalogue
    assert "no database at" in listing.stderr
    assert list(installed["cwd"].iterdir()) == []  # reading created no database
    helped = _run([installed["raqib"], "crawl", "--help"], cwd=installed["cwd"],
                  env=installed["env"])
    assert helped.returncode == 0 and "usage: raqib crawl" in helped.stdout, helped.stderr


def test_the_demo_runs_from_the_wheel(installed):
    demo = _run([installed["raqib"], "demo"], cwd=installed["cwd"], env=installed["env"],
                timeout=180)
    assert demo.returncode == 0, demo.stderr
    assert "matched a watch rule" in demo.stdout and "gcc-egov-committee" in demo.stdout
    assert (installed["cwd"] / "raqib-demo-digest.html").exists()


def test_pyproject_lists_every_package_of_the_checkout():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(path.parent.relative_to(ROOT).parts)
             for top in ("crawler", "monitor", "storage")
             for path in (ROOT / top).rglob("*.py") if "__pycache__" not in path.parts}
    found.add("monitor.default_config")  # config/, installed under this name
    assert listed == found, f"add to pyproject.toml: {sorted(found - listed)}; " \
                            f"no longer there: {sorted(listed - found)}"


def test_the_teams_card_template_is_installed(installed):
    found = _run([installed["python"], "-c",
                  "from importlib.resources import files; from monitor.digest.channels import "
                  "TEAMS_RTL_CARD; card = files('monitor.digest') / TEAMS_RTL_CARD; "
                  "print(card.is_file(), card)"], cwd=installed["cwd"], env=installed["env"])
    assert found.returncode == 0, found.stderr
    is_file, path = found.stdout.split()
    assert is_file == "True" and "site-packages" in path
