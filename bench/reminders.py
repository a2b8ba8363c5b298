"""Reminder fan-out: due reminders sent by a real Celery worker to an SMTP sink on loopback.

1. 20,000 confirmed registrations (100,000 with BENCH_FULL=1, or BENCH_REMINDERS) in
   gesprekken that start within GESPREKKEN_REMINDER_HOURS, written with bulk_create.
2. The beat task's logic, send_due_reminders(), queues them: an outbox row each and a
   send_bericht task on Redis (timed: the beat side).
3. The raw rate: a plain smtplib client (bench/smtp.py, its own process) sends the same
   message (a rendered reminder, same size) on as many threads as the worker has
   processes, twice: with as many messages per SMTP connection as the worker sends per
   batch (outbox.BATCH_SIZE; the like-for-like baseline the target is measured against,
   taken before and again after the worker, and their mean used) and with one
   connection per message (`raw_smtp_per_message`, the baseline of earlier runs, when
   the worker sent one mail per task and connection).
4. A real worker (`celery worker`, prefork, with the pool a deployment gets:
   CELERY_WORKER_CONCURRENCY, twice the cores; BENCH_WORKER_CONCURRENCY to try another) sends
   every reminder to the same sink; mails/s from the first to the last arrival, and the
   CPU time per mail in that span of the worker with its pool, of the database's
   backends and of this process (the sink): where the machine's two cores went.
5. Each reminder must have arrived exactly once (by its X-Buurtgesprek-Bericht header).
"""

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta

from bench import common

PART = "reminders"
COUNT = int(os.environ.get("BENCH_REMINDERS", "100000" if common.FULL else "20000"))
PER_GESPREK = 10
# Pool processes of the worker and threads of the raw client; main() sets it.
CONCURRENCY = 0
RAW_COUNT = int(os.environ.get("BENCH_RAW_SMTP", str(min(COUNT, 5000))))
# Give up when nothing arrived for this long (a stuck worker), or after MAX_SECONDS.
STALL_SECONDS = 90
MAX_SECONDS = float(os.environ.get("BENCH_REMINDERS_MAX_SECONDS", str(max(600, COUNT / 20))))


def make_due(count: int) -> None:
    """Planned gesprekken starting in 2 to 20 hours with `count` confirmed seats."""
    from django.utils import timezone

    from gemeenten.models import Buurt
    from gesprekken.models import Aanmelding, Gesprek

    now = timezone.now()
    buurten = list(Buurt.objects.order_by("code").values_list("code", flat=True))
    gesprekken = Gesprek.objects.bulk_create(
        [
            Gesprek(
                format=Gesprek.Format.TAFEL,
                buurt_id=buurten[(i * 7) % len(buurten)],
                street="bench-reminders",
                place="Buurthuis",
                starts_at=now + timedelta(hours=2, seconds=i * 64800 // (count // PER_GESPREK)),
                ends_at=now + timedelta(hours=4, seconds=i * 64800 // (count // PER_GESPREK)),
                min_participants=1,
                max_participants=PER_GESPREK,
                status=Gesprek.Status.GEPLAND,
            )
            for i in range(-(-count // PER_GESPREK))
        ],
        batch_size=5000,
    )
    batch = []
    for i in range(count):
        batch.append(
            Aanmelding(
                gesprek=gesprekken[i // PER_GESPREK],
                name=f"Bewoner {i}",
                email=f"r{i}@bench.invalid",
                postcode="3511AB",
                language="en" if i % 10 == 0 else "nl",
                status=Aanmelding.Status.BEVESTIGD,
                short_code=f"R{i % PER_GESPREK:05d}",
                consent_at=now,
                created_at=now,
                confirmed_at=now,
            )
        )
        if len(batch) == 5000:
            Aanmelding.objects.bulk_create(batch)
            batch = []
    Aanmelding.objects.bulk_create(batch)


def sample_message() -> bytes:
    """A reminder as the worker will send it: rendered, with Date and Message-ID."""
    from gesprekken import emails
    from gesprekken.models import Bericht

    bericht = Bericht.objects.filter(kind="herinnering", language="nl").order_by("pk").first()
    return emails.render(bericht).message().as_bytes(linesep="\r\n")


def rate(arrivals: list) -> tuple[float | None, float]:
    """Messages per second from the first to the last arrival (and that span)."""
    if len(arrivals) < 2:
        return None, 0.0
    span = arrivals[-1][0] - arrivals[0][0]
    return (round((len(arrivals) - 1) / span, 1) if span else None), span


def backend_pids() -> list[int]:
    """The PostgreSQL backends connected to the bench database (the worker's among them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


class CpuSplit:
    """CPU seconds over a span: the worker with its pool, the database's backends (sampled
    as they come and go: a backend that appears later counts from zero, one that leaves
    keeps what it had used at the last sample), and this process, which is the sink (the
    thread that waits for arrivals mostly sleeps)."""

    def __init__(self, worker_pid: int):
        self.worker_pid = worker_pid
        self.started = {
            "worker": common.cpu_seconds(worker_pid),
            "sink": time.process_time(),
            "at": time.monotonic(),
        }
        self.backends_start = self._backends()
        self.backends = dict(self.backends_start)

    @staticmethod
    def _backends() -> dict[int, float]:
        return {pid: common.cpu_seconds(pid, children=False) for pid in backend_pids()}

    def sample(self) -> None:
        for pid, seconds in self._backends().items():
            self.backends[pid] = max(self.backends.get(pid, 0.0), seconds)

    def per_mail(self, mails: int) -> dict:
        if mails <= 0:  # nothing arrived after the first: no figure
            return {}
        self.sample()
        used = {
            "worker": common.cpu_seconds(self.worker_pid) - self.started["worker"],
            "postgres": sum(
                seconds - self.backends_start.get(pid, 0.0)
                for pid, seconds in self.backends.items()
            ),
            "sink": time.process_time() - self.started["sink"],
        }
        seconds = time.monotonic() - self.started["at"]
        return {
            **{f"{name}_ms_per_mail": round(cpu / mails * 1000, 3) for name, cpu in used.items()},
            "cores_busy": round(sum(used.values()) / seconds, 2) if seconds else None,
        }


def wait_for_arrivals(
    sink, expected: int, process: subprocess.Popen | None = None, on_poll=None
) -> bool:
    started = time.monotonic()
    seen, last_change = 0, started
    while len(sink.arrivals) < expected:
        now = time.monotonic()
        if len(sink.arrivals) != seen:
            seen, last_change = len(sink.arrivals), now
        if now - last_change > STALL_SECONDS or now - started > MAX_SECONDS:
            return False
        if process is not None and process.poll() is not None:
            return False
        if on_poll is not None:
            on_poll()
        time.sleep(0.2)
    return True


def raw_rate(sink, port: int, message: bytes, per_connection: int) -> dict:
    path = common.VAR / "reminder.eml"
    path.write_bytes(message)
    sink.reset()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.smtp",
            f"--port={port}",
            f"--count={RAW_COUNT}",
            f"--threads={CONCURRENCY}",
            f"--message={path}",
            "--seconds=120",
            f"--per-connection={per_connection}",
        ],
        cwd=common.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"raw SMTP client failed:\n{done.stderr[-2000:]}")
    arrivals = list(sink.arrivals)
    per_second, span = rate(arrivals)
    return {
        "messages": len(arrivals),
        "per_connection": per_connection,
        "threads": CONCURRENCY,
        "seconds": round(span, 2),
        "mails_per_s": per_second,
    }


def worker_command(queue: str) -> list[str]:
    return [
        str(common.BIN / "celery"),
        "-A",
        "buurtgesprek",
        "worker",
        "--pool=prefork",
        f"--concurrency={CONCURRENCY}",
        "-Q",
        queue,
        "-n",
        f"bench-{uuid.uuid4().hex[:6]}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
    ]


def check(arrivals: list) -> dict:
    from gesprekken.models import Bericht

    expected = {
        str(pk) for pk in Bericht.objects.filter(kind="herinnering").values_list("pk", flat=True)
    }
    received = Counter(bericht for _at, bericht, _to in arrivals)
    statuses = Counter(Bericht.objects.filter(kind="herinnering").values_list("status", flat=True))
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    missing = len(expected - set(received))
    unexpected = sum(n for bericht, n in received.items() if bericht not in expected)
    return {
        "expected": len(expected),
        "arrived": len(arrivals),
        "duplicates": duplicates,
        "missing": missing,
        "unexpected": unexpected,
        "db_status": dict(statuses),
        "ok": duplicates == 0 and missing == 0 and unexpected == 0,
    }


def main() -> None:
    queue = f"bench-reminders-{uuid.uuid4().hex[:8]}"
    common.prepare_env(CELERY_TASK_DEFAULT_QUEUE=queue)
    common.setup_django()
    from django.conf import settings
    from django.db import connection

    from bench import smtp
    from gesprekken import outbox
    from gesprekken.tasks import send_due_reminders

    global CONCURRENCY
    CONCURRENCY = int(
        os.environ.get("BENCH_WORKER_CONCURRENCY")
        # An older tree without the setting: Celery's default, the cores.
        or getattr(settings, "CELERY_WORKER_CONCURRENCY", os.cpu_count() or 1)
    )
    # Mails per SMTP connection in a worker: a batch (1 for an outbox without batches,
    # so the bench can measure an older tree too).
    per_connection = getattr(outbox, "BATCH_SIZE", 1)

    common.ensure_geography()
    common.truncate("gesprekken_gesprek", "gesprekken_aanmelding", "gesprekken_bericht")
    common.log(f"writing {COUNT:,} due reminders' registrations")
    started = time.monotonic()
    make_due(COUNT)
    common.vacuum_analyze("gesprekken_gesprek", "gesprekken_aanmelding", "gesprekken_bericht")
    common.emit(PART, "setup", registrations=COUNT, seconds=round(time.monotonic() - started, 1))

    try:
        common.log("send_due_reminders(): queueing (outbox rows + tasks on Redis)")
        started = time.monotonic()
        queued = send_due_reminders()
        seconds = time.monotonic() - started
        common.emit(
            PART,
            "queue",
            queued=queued,
            seconds=round(seconds, 2),
            per_s=round(queued / seconds, 1),
        )
        if queued != COUNT:
            raise SystemExit(f"send_due_reminders queued {queued}, expected {COUNT}")
        message = sample_message()
        connection.close()

        with smtp.sink() as (sink, port):
            common.log(
                f"raw SMTP: {RAW_COUNT:,} messages of {len(message):,} bytes, "
                f"{per_connection} per connection, then one per connection"
            )
            raw = raw_rate(sink, port, message, per_connection)
            single = raw_rate(sink, port, message, 1)
            common.emit(PART, "raw_smtp_per_message", message_bytes=len(message), **single)

            sink.reset()
            env = {**os.environ, "EMAIL_URL": f"smtp://127.0.0.1:{port}", "LOG_LEVEL": "INFO"}
            common.log(f"celery worker -c {CONCURRENCY}: sending {COUNT:,} reminders")
            started = time.monotonic()
            with (
                common.running(worker_command(queue), log_name="worker.log", env=env) as worker,
                common.profiled(worker.pid, "worker") as profile,
            ):
                # CPU is counted from the first arrival (the worker has started) to the last.
                wait_for_arrivals(sink, 1, worker)
                split, first_count = CpuSplit(worker.pid), len(sink.arrivals)
                complete = wait_for_arrivals(sink, COUNT, worker, on_poll=split.sample)
                cpu = split.per_mail(len(sink.arrivals) - first_count)
                wall = time.monotonic() - started
                # A moment for late duplicates to show up before the worker stops.
                time.sleep(2)
            arrivals = list(sink.arrivals)
            # The raw rate again: the baseline is the mean of before and after the worker,
            # so a machine that gets faster or slower meanwhile moves both sides alike.
            common.log("raw SMTP again, after the worker")
            after = raw_rate(sink, port, message, per_connection)
        raw = {
            **raw,
            "messages": raw["messages"] + after["messages"],
            "before_per_s": raw["mails_per_s"],
            "after_per_s": after["mails_per_s"],
            "mails_per_s": round((raw["mails_per_s"] + after["mails_per_s"]) / 2, 1),
        }
        common.emit(PART, "raw_smtp", message_bytes=len(message), **raw)
        per_second, span = rate(arrivals)
        common.emit(
            PART,
            "worker",
            messages=len(arrivals),
            concurrency=CONCURRENCY,
            seconds=round(span, 2),
            wall_seconds_with_startup=round(wall, 2),
            mails_per_s=per_second,
            complete=complete,
        )
        common.emit(PART, "cpu", **cpu)
        common.emit(
            PART,
            "ratio",
            worker_vs_raw=common.ratio(per_second, raw["mails_per_s"]),
            worker_vs_raw_per_message=common.ratio(per_second, single["mails_per_s"]),
            target=0.5,
        )
        if profile:
            common.emit(PART, "profile_worker", **common.summarise_profile(profile))
        result = check(arrivals)
        common.emit(PART, "exactly_once", **result)
    finally:
        common.purge_queue(queue)
    if not result["ok"]:
        raise SystemExit("reminders: not every reminder arrived exactly once")


def summarise(figures: list[dict]) -> list[str]:
    by = {f["figure"]: f for f in figures}
    lines = []
    if "queue" in by:
        q = by["queue"]
        lines.append(f"beat task queued {q['queued']:,} in {q['seconds']} s ({q['per_s']}/s)")
    if "worker" in by and "raw_smtp" in by:
        w, r, ratio = by["worker"], by["raw_smtp"], by.get("ratio", {})
        mark = "ok" if (ratio.get("worker_vs_raw") or 0) >= 0.5 else "MISSED"
        single = by.get("raw_smtp_per_message", {})
        lines.append(
            f"worker {w['mails_per_s']} mails/s ({w['messages']:,} in {w['seconds']} s), "
            f"raw SMTP {r['mails_per_s']}/s with {r.get('per_connection', 1)} a connection "
            f"(before {r.get('before_per_s')}, after {r.get('after_per_s')}), "
            f"{single.get('mails_per_s')}/s with one ({r['message_bytes']:,} bytes a message); "
            f"worker/raw {ratio.get('worker_vs_raw')} (target ≥ 0.5: {mark}), "
            f"worker/raw one a connection {ratio.get('worker_vs_raw_per_message')}"
        )
    if "worker_ms_per_mail" in by.get("cpu", {}):
        c = by["cpu"]
        lines.append(
            f"CPU per reminder: worker {c['worker_ms_per_mail']} ms, PostgreSQL "
            f"{c['postgres_ms_per_mail']} ms, SMTP sink {c['sink_ms_per_mail']} ms "
            f"({c['cores_busy']} cores busy)"
        )
    if "exactly_once" in by:
        e = by["exactly_once"]
        lines.append(
            f"exactly once: {e['arrived']:,} arrived of {e['expected']:,}, "
            f"{e['duplicates']} duplicates, {e['missing']} missing"
        )
    return lines


if __name__ == "__main__":
    main()
