"""The server-less broker of `make run` keeps every file under var/broker: kombu's
filesystem transport writes its exchange tables to `./control` unless told otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Declares the broadcast (pidbox) exchange, as a worker does at start-up, on the local
# settings' filesystem broker.
SCRIPT = """
import django
django.setup()
from config.celery_app import app
with app.connection_for_write() as conn:
    app.control.mailbox(conn).Node("probe@here", channel=conn.default_channel).listen()
"""


def test_local_broker_files_stay_under_var(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        MASTHEAD_VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(ROOT),
    )
    work = tmp_path / "cwd"
    work.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=work, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert not (work / "control").exists()
    tables = sorted(p.name for p in (tmp_path / "var" / "broker" / "control").iterdir())
    assert "celery.pidbox.exchange" in tables
