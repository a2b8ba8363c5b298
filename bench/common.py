"""What every bench part shares: the environment, the database, JSON figures, processes.

Defaults are the CI services on loopback (see DEFAULTS); a URL pointing anywhere else is
refused, so a benchmark never sends traffic off this machine. Each part uses a database
of its own next to DATABASE_URL's (suffix per part), created and migrated on first use.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = BASE_DIR / "var" / "bench"
BIN = Path(sys.executable).parent

DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/buurtgesprek_bench",
    # A database number of its own, so the bench never meets the tests' or a dev's queues.
    "REDIS_URL": "redis://127.0.0.1:6379/11",
}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
FULL = os.environ.get("BENCH_FULL", "") not in ("", "0")


def log(message: str) -> None:
    """Progress for people: stderr, so stdout stays JSON lines and the summary."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def emit(part: str, figure: str, **values) -> dict:
    """One JSON line per figure on stdout."""
    line = {"part": part, "figure": figure, **values}
    print(json.dumps(line, default=str), flush=True)
    return line


def _loopback_only(name: str, url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"{name} must point at 127.0.0.1 for the bench, not {host!r}")


def database_url(suffix: str = "") -> str:
    """DATABASE_URL with `suffix` added to the database name."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=parts.path + suffix))


def prepare_env(*, db_suffix: str = "", **extra: str) -> dict:
    """Set the environment of this process (and its children) for one part."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    for key in ("DATABASE_URL", "REDIS_URL"):
        _loopback_only(key, os.environ[key])
    if not urlsplit(os.environ["DATABASE_URL"]).scheme.startswith("postgres"):
        raise SystemExit("the bench needs PostgreSQL: DATABASE_URL=postgres://…")
    VAR.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = database_url(db_suffix)
    # BENCH_SETTINGS: another settings module (importable, e.g. one that tries a fix).
    os.environ["DJANGO_SETTINGS_MODULE"] = os.environ.get("BENCH_SETTINGS", "bench.settings")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ.setdefault("STATIC_ROOT", str(VAR / "static"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("EMAIL_URL", None)
    os.environ.update(extra)
    return dict(os.environ)


def ensure_database(url: str) -> None:
    """CREATE DATABASE for `url` unless it exists (through the `postgres` database)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(*, migrate: bool = True) -> None:
    """django.setup() on the prepared environment; migrate and create the cache table."""
    import django

    ensure_database(os.environ["DATABASE_URL"])
    sys.path.insert(0, str(BASE_DIR))
    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)


def ensure_geography() -> None:
    """The whole country's geography, imported once per database."""
    from django.core.management import call_command

    from gemeenten.models import Buurt

    if not Buurt.objects.exists():
        log("importing the geography (once per bench database)")
        call_command("import_gebieden", verbosity=0)


def truncate(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def vacuum_analyze(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (share 0.5 = median)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def ratio(part: float | None, whole: float | None) -> float | None:
    return round(part / whole, 3) if part and whole else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(port: int, path: str, *, timeout: float, process: subprocess.Popen) -> int:
    """Poll until the server answers `path` (any status: it is up); returns the status."""
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see var/bench/*.log")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", path)
            return connection.getresponse().status
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    raise RuntimeError(f"no answer on 127.0.0.1:{port}{path} after {timeout}s")


@contextmanager
def running(command: list[str], *, log_name: str, env: dict | None = None):
    """Run `command` (its own process group, output to var/bench/<log_name>) while inside."""
    log_path = VAR / log_name
    with log_path.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env or dict(os.environ),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """TERM the process group we started, KILL it when it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0")


@contextmanager
def profiled(pid: int, name: str):
    """With BENCH_PROFILE=1: py-spy samples `pid` and its children while inside.

    Writes var/bench/profile-<name>.txt (collapsed stacks, for flamegraph tools) and
    returns nothing; summarise_profile() reads it. Without BENCH_PROFILE it does nothing.
    """
    if not PROFILE:
        yield None
        return
    output = VAR / f"profile-{name}.txt"
    spy = subprocess.Popen(
        [
            str(BIN / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--nonblocking",
            "--rate",
            "50",
            "--format",
            "raw",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield output
    finally:
        # py-spy writes its output when interrupted.
        if spy.poll() is None:
            os.killpg(spy.pid, signal.SIGINT)
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop(spy)


# Library functions worth naming in a profile summary, next to the project's own code.
WATCHED = (
    "SQLCompiler.execute_sql",
    "Connection.wait",
    "ConnectionPool._connect",
    "DjangoWorkerFixup.close_database",
    "Template.render",
    "BaseForm.full_clean",
    "CsrfViewMiddleware.process_view",
    "SessionMiddleware.process_response",
    "DatabaseCache.",
    "Task.apply_async",
    "EmailBackend.send_messages",
    "SMTP.connect",
    "SMTP.sendmail",
    "EmailMessage.message",
    "Logger._log",
    "WSGIHandler.__call__",
    "trace_task",
)
PROJECT = ("gesprekken/", "dekking/", "gemeenten/", "facilitators/", "buurtgesprek/")


def summarise_profile(*paths: Path, top: int = 20) -> dict:
    """Share of the sampled (busy) time spent inside each project function and a few
    watched library functions (inclusive), busiest first, from py-spy raw profiles."""
    lines = [line for path in paths if path.exists() for line in path.read_text().splitlines()]
    if not lines:
        return {"samples": 0}
    total = 0
    inclusive: dict[str, int] = {}
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        names = set()
        for frame in stack.split(";"):
            function, _, where = frame.partition(" (")
            where = where.rstrip(")").rsplit(":", 1)[0]
            project = any(f"{BASE_DIR}/{p}" in where or where.startswith(p) for p in PROJECT)
            if project or any(function.startswith(w) for w in WATCHED):
                names.add(f"{function} ({_short(where)})")
        for name in names:
            inclusive[name] = inclusive.get(name, 0) + samples
    ranked = sorted(inclusive.items(), key=lambda item: -item[1])[:top]
    return {
        "samples": total,
        "files": [str(path.relative_to(BASE_DIR)) for path in paths],
        "top": [[name, round(count / total, 3)] for name, count in ranked] if total else [],
    }


def _short(path: str) -> str:
    """'/work/main/.venv/lib/python3.11/site-packages/django/db/x.py' → 'django/db/x.py'."""
    for marker in ("site-packages/", f"{BASE_DIR}/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def purge_queue(name: str) -> None:
    """Drop a Celery queue of ours from Redis (and kombu's binding key for it)."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete(name, f"_kombu.binding.{name}")


def _children(pid: int) -> list[int]:
    """The direct children of `pid` (Linux /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return children


def cpu_seconds(pid: int, *, children: bool = True) -> float:
    """CPU time (user + system) used so far by `pid` and its direct children (e.g. a
    gunicorn master and its workers; a Celery worker and its pool). Linux only.

    Throughput on a shared machine swings with the neighbours' load; the CPU time the
    server spends per request does much less, so the parts print it next to the rates.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for one in [pid, *(_children(pid) if children else ())]:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total
