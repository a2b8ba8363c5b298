"""A real Celery worker on Redis answers a task queued by this process."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery.exceptions import TimeoutError as CeleryTimeoutError

from buurtgesprek.tasks import ping

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")


@pytest.fixture
def worker_queue(tmp_path):
    """Start a worker that listens only on a queue of its own; stop it afterwards.

    The queue name is unique per run, so a stray worker on the same Redis cannot take
    the task and a leftover message cannot reach this worker.
    """
    queue = f"test-{uuid.uuid4().hex}"
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "buurtgesprek",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "-Q",
                queue,
                "-n",
                f"{queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "warning",
            ],
            cwd=ROOT,
            env={**os.environ, "REDIS_URL": os.environ["REDIS_URL"]},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield queue, worker, log
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_a_real_worker_runs_a_task_queued_on_redis(worker_queue):
    queue, worker, log = worker_queue
    value = uuid.uuid4().hex

    result = ping.apply_async(args=[value], queue=queue)
    try:
        answer = result.get(timeout=30)
    except CeleryTimeoutError:
        state = "running" if worker.poll() is None else f"exited with {worker.returncode}"
        pytest.fail(f"no answer within 30 s; worker {state}:\n{log.read_text()}")

    assert answer == f"pong:{value}"
    assert result.successful()
    # Not run in this process: the worker took it from the queue.
    assert worker.poll() is None
