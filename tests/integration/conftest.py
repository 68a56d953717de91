"""The real stack for integration tests: a Celery worker on the Redis broker, gunicorn
serving the test database, and small HTTP helpers to talk to it."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from django.db import connection

# The Redis and filesystem transports are kombu virtual transports, whose channels purge.
from kombu.transport.virtual import Channel as VirtualChannel

from config.celery_app import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(
    predicate: Callable[[], object], timeout: float = 90.0, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError("timed out waiting for the condition")


def needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("another process shares the test database: PostgreSQL only")


def app_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment of an app process (web or worker) on the test database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STRIPE_", "PYTEST_", "DJANGO_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DJANGO_DEBUG="0",
        DATABASE_URL=database_url(),
        MASTHEAD_VAR_DIR=str(tmp_path / "var"),
        SECRET_KEY="integration-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1",
    )
    env.update(overrides)
    return env


@pytest.fixture
def real_broker():
    needs_postgresql()
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as conn:
        cast(VirtualChannel, conn.default_channel).queue_purge("celery")
    yield
    celery_app.conf.task_always_eager = True


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@dataclass
class Workers:
    """`start_worker(chunk_size=...)`: a Celery worker on the real broker; the emails it
    sends land as files in `start_worker.mail_dir`."""

    start: Callable[[int], subprocess.Popen[bytes]]
    mail_dir: Path

    def __call__(self, chunk_size: int = 1000) -> subprocess.Popen[bytes]:
        return self.start(chunk_size)


@pytest.fixture
def start_worker(tmp_path, real_broker) -> Iterator[Workers]:
    workers: list[subprocess.Popen[bytes]] = []
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115 - closed at teardown
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()

    def start(chunk_size: int = 1000) -> subprocess.Popen[bytes]:
        env = app_env(
            tmp_path,
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(mail_dir),
            JOB_CHUNK_SIZE=str(chunk_size),
        )
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        workers.append(worker)
        return worker

    yield Workers(start, mail_dir)
    for worker in workers:
        _stop(worker)
    log.close()


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Browser:
    """One client of a served app: keeps its cookies, never raises on 4xx/5xx."""

    base_url: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def request(
        self, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=dict(headers or {})
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        try:
            with opener.open(request, timeout=30) as response:
                return Answer(response.status, response.read(), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read(), dict(error.headers))

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.request("POST", path, body=body, **kwargs)


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> None:
    """gunicorn serves with production's manifest storage: collect the files once."""
    env = app_env(tmp_path_factory.mktemp("static"))
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


@dataclass
class Servers:
    """`serve(**env)`: see the fixture; `serve.log` is the servers' log file."""

    start: Callable[..., str]
    log: Path

    def __call__(self, **overrides: str) -> str:
        return self.start(**overrides)


@pytest.fixture
def serve(tmp_path, collected_static) -> Iterator[Servers]:
    """`serve(**env)`: gunicorn (sync, 2 workers) on the test database and a free port,
    with these environment overrides; its base URL. Stopped at teardown."""
    needs_postgresql()
    servers: list[subprocess.Popen[bytes]] = []
    log = open(tmp_path / "gunicorn.log", "ab")  # noqa: SIM115 - closed at teardown

    def start(**overrides: str) -> str:
        port = free_port()
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--no-control-socket",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=app_env(tmp_path, **overrides),
            start_new_session=True,
            stdout=log,
            stderr=log,
        )
        servers.append(server)
        base_url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if server.poll() is not None:
                raise AssertionError((tmp_path / "gunicorn.log").read_text()[-3000:])
            try:
                return Browser(base_url).get("/healthz").status == 200
            except OSError:
                return False

        wait_for(up, timeout=60, interval=0.2)
        return base_url

    yield Servers(start, tmp_path / "gunicorn.log")
    for server in servers:
        _stop(server)
    log.close()
