"""Development tools stay out of the product: production settings do not install them,
the package build and the Docker image leave them out (import-linter checks that no
product module imports them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import setuptools

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, settings: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "STRIPE_")) and key != "DATABASE_URL"
    }
    env.update(
        DJANGO_SETTINGS_MODULE=settings,
        SECRET_KEY="a-production-like-key-" + "x7Qp" * 12,
        MASTHEAD_VAR_DIR=str(tmp_path),
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_have_no_demo_loader_or_stripe_double(tmp_path) -> None:
    for command in ("load_demo", "stripe_double_setup"):
        result = _manage("help", command, settings="config.settings.production", tmp_path=tmp_path)
        assert result.returncode != 0
        assert f"Unknown command: '{command}'" in result.stderr


def test_local_settings_have_them(tmp_path) -> None:
    result = _manage("help", "--commands", settings="config.settings.local", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split()
    assert "load_demo" in commands
    assert "stripe_double_setup" in commands


def test_the_package_build_leaves_devtools_out() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    find = config["tool"]["setuptools"]["packages"]["find"]
    packages = setuptools.find_packages(
        where=str(ROOT), include=find["include"], exclude=find["exclude"]
    )
    assert "articles" in packages
    assert "subscriptions.billing" in packages
    assert not [p for p in packages if p.split(".")[0] in {"devtools", "tests", "bench"}]


def test_the_docker_image_leaves_devtools_out() -> None:
    copied = re.findall(r"^COPY (\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert not [path for path in copied if path.strip("./") in {"devtools", "tests", "."}]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "devtools" in ignored
