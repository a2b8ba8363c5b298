"""Real processes on loopback: a Celery worker on Redis, an SMTP sink, the test database.

The worker runs `.venv/bin/celery -A buurtgesprek worker` as a subprocess on the test
database (pytest-django's, so tests must use `transaction=True` for it to see their rows),
on a queue of its own so parallel runs and other workers on the same Redis never mix,
and sends mail to an aiosmtpd sink on 127.0.0.1.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.result import allow_join_result
from django.conf import settings

from buurtgesprek.celery import app as celery_app
from buurtgesprek.tasks import ping
from tests.integration.smtp_sink import Sink, serving

CELERY = Path(sys.executable).with_name("celery")


def wait_for(condition, *, timeout=30.0, interval=0.1, what="condition"):
    """Poll `condition` until it is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def database_url(database: dict) -> str:
    """A DATABASE_URL for another process, pointing at the test database."""
    credentials = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "127.0.0.1"
    port = database["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{database['NAME']}"


@pytest.fixture(autouse=True)
def _web_side_may_wait_for_results():
    """This process plays the web side and beat, never a worker: it may wait for results.

    Celery keeps "inside a task, do not block on results" in one global flag, set and
    reset around every eager task; eager tasks run from several threads at once (the
    concurrency tests) can leave it set, and every `.get()` afterwards would refuse.
    """
    with allow_join_result():
        yield


@pytest.fixture(scope="module")
def sink():
    with serving(Sink()) as sink:
        yield sink


@pytest.fixture
def clean_sink(sink):
    sink.answers.clear()
    sink.received.clear()
    sink.refused = 0
    return sink


@pytest.fixture(scope="module")
def queue_name():
    """A queue of our own; the test process publishes to it by default while it runs."""
    name = f"buurtgesprek-test-{uuid.uuid4().hex[:12]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    yield name
    celery_app.conf.task_default_queue = previous


@pytest.fixture(scope="module")
def worker_env(django_db_setup, sink, queue_name, tmp_path_factory):
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "buurtgesprek.settings",
        "DATABASE_URL": database_url(connection.settings_dict),
        "DATABASE_POOL": "0",
        "REDIS_URL": os.environ["REDIS_URL"],
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue_name,
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
        "EMAIL_TIMEOUT": "5",
        # Retries one second after a temporary failure, so the tests need not wait long.
        "GESPREKKEN_MAIL_RETRY_BASE_SECONDS": "1",
        "SITE_URL": settings.SITE_URL,
        "LOG_LEVEL": "INFO",
    }
    env.pop("BUURTGESPREK_REQUIRE_SERVICES", None)
    env["LOG_DIR"] = str(tmp_path_factory.mktemp("workers"))
    return env


@contextmanager
def running_worker(env: dict, name: str, *, prefork: bool = False):
    """Start a worker on the test queue; yield its process once it answers a ping; stop it.

    Solo by default; `prefork`: one pool process under a parent, as in production. The
    worker runs in a process group of its own, so a test can kill it with its pool child
    (os.killpg) and stopping it never leaves a child behind.
    """
    log_path = Path(env["LOG_DIR"]) / f"{name}.log"
    # A private queue as well, so the start-up ping reaches this worker and no other.
    own_queue = f"{env['CELERY_TASK_DEFAULT_QUEUE']}-{name}"
    pool = ["--pool=prefork", "-c", "1"] if prefork else ["--pool=solo"]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "buurtgesprek",
                "worker",
                *pool,
                "-Q",
                f"{env['CELERY_TASK_DEFAULT_QUEUE']},{own_queue}",
                "-n",
                f"{name}-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            answer = ping.apply_async(args=[name], queue=own_queue)
            try:
                with allow_join_result():
                    assert answer.get(timeout=60) == f"pong:{name}"
            except Exception:
                pytest.fail(f"worker {name} did not start:\n{log_path.read_text()[-4000:]}")
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
    if process.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL):
        print(log_path.read_text()[-4000:])


@pytest.fixture(scope="module")
def worker(worker_env):
    with running_worker(worker_env, "worker1") as process:
        yield process
