"""Sign-up throughput: the full path over HTTP against the same transaction bare.

Four ways of signing residents up, each with 16 and 32 concurrent clients for
BENCH_SECONDS (10) seconds, in one run, taking turns in BENCH_ROUNDS (3) slices so that a
swing in the machine's load falls on all four alike:

- post: the sign-up path on the real site under gunicorn (bench.settings: production
  settings, rate limits raised), one POST per sign-up: CSRF, session, form, rate limits,
  lock, count, insert, outbox row, enqueue on Redis, redirect. Each client thread first
  GETs a gesprek page once for a CSRF cookie and token and keeps them, as a browser does.
- http: a first visit: each sign-up GETs the gesprek page (CSRF cookie and token) and
  then POSTs the form as above; the page is rendered for every sign-up.
- bare: the same ORM transaction (lock, duplicate check, count, insert) in a view with no
  middleware (bench/bare_urls.py), one POST per sign-up, same gunicorn and clients.
- pgbench: that transaction as SQL (lock, duplicate check, count, insert), C clients.

Each run gets fresh gesprekken: BIG of them with room for everyone, and SMALL with
SMALL_SEATS seats that get SMALL_SHARE of the traffic, so they fill up and put people on
the waiting list under contention. Afterwards no gesprek may hold more seats than it has.
"""

import http.client
import os
import random
import re
import subprocess
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from bench import common

PART = "signup"
CLIENTS = [int(n) for n in os.environ.get("BENCH_CLIENTS", "16,32").split(",")]
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
# The three ways take turns: ROUNDS slices each, BENCH_SECONDS in all per way.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SLICE_SECONDS = max(2, round(common.SECONDS / ROUNDS))
MODES = ("pgbench", "bare", "http", "post")
BIG, BIG_SEATS = 500, 1000
SMALL, SMALL_SEATS, SMALL_SHARE = 10, 10, 0.1
STREET = "bench-signup"
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
PGBENCH_SCRIPT = Path(__file__).with_name("signup.pgbench.sql")


# --- data ---------------------------------------------------------------------------------


def make_gesprekken(tag: str) -> dict:
    """BIG + SMALL planned gesprekken for one run; contiguous ids (pgbench picks by range)."""
    from django.utils import timezone

    from gemeenten.models import Buurt
    from gesprekken.models import Gesprek

    buurten = list(Buurt.objects.order_by("code").values_list("code", flat=True)[:200])
    starts = timezone.now() + timedelta(days=30)

    def gesprek(i: int, seats: int) -> Gesprek:
        return Gesprek(
            format=Gesprek.Format.TAFEL,
            buurt_id=buurten[i % len(buurten)],
            street=f"{STREET}-{tag}",
            place="Buurthuis",
            starts_at=starts + timedelta(minutes=i),
            ends_at=starts + timedelta(minutes=i, hours=2),
            min_participants=1,
            max_participants=seats,
            status=Gesprek.Status.GEPLAND,
        )

    small = Gesprek.objects.bulk_create([gesprek(i, SMALL_SEATS) for i in range(SMALL)])
    big = Gesprek.objects.bulk_create([gesprek(i, BIG_SEATS) for i in range(BIG)])
    for group in (small, big):
        ids = [g.pk for g in group]
        if ids != list(range(ids[0], ids[0] + len(ids))):
            raise RuntimeError("bulk_create gave non-contiguous ids; pgbench needs a range")
    return {
        "small": [g.pk for g in small],
        "big": [g.pk for g in big],
    }


def pick(rng: random.Random, ids: dict) -> int:
    return rng.choice(ids["small"] if rng.random() < SMALL_SHARE else ids["big"])


# --- HTTP clients ---------------------------------------------------------------------------


class Tally:
    def __init__(self):
        self.latencies: list[float] = []
        self.post_latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def add(self, latency: float, post_latency: float, outcome: str) -> None:
        with self.lock:
            self.statuses[outcome] = self.statuses.get(outcome, 0) + 1
            if outcome == "ok":
                self.latencies.append(latency)
                self.post_latencies.append(post_latency)

    def error(self, text: str) -> None:
        with self.lock:
            self.statuses["error"] = self.statuses.get("error", 0) + 1
            if len(self.errors) < 5:
                self.errors.append(text)


def _request(port: int, method: str, url: str, body: bytes | None = None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, url, body=body, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def _csrf(port: int, gesprek: int, tally: Tally) -> tuple[str, str] | None:
    """GET the gesprek page: (CSRF cookie, form token), or None (counted as an error)."""
    response, body = _request(port, "GET", f"/gesprek/{gesprek}/")
    if response.status != 200:
        tally.error(f"GET {response.status}")
        return None
    cookie = next(
        (
            value.split(";", 1)[0]
            for name, value in response.getheaders()
            if name.lower() == "set-cookie" and value.startswith("csrftoken=")
        ),
        None,
    )
    token = CSRF_INPUT.search(body)
    if not cookie or not token:
        tally.error("no CSRF cookie or token on the gesprek page")
        return None
    return cookie, token.group(1).decode()


def _post(port: int, gesprek: int, email: str, csrf: tuple[str, str]):
    cookie, token = csrf
    form = urlencode(
        {
            "csrfmiddlewaretoken": token,
            "name": "Bench Bewoner",
            "email": email,
            "postcode": "3511 AB",
            "phone": "",
            "language": "nl",
            "consent": "on",
        }
    ).encode()
    return _request(
        port,
        "POST",
        f"/gesprek/{gesprek}/aanmelden/",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )


def _post_and_count(port, gesprek, email, csrf, tally: Tally, started: float | None = None):
    """POST the form; a sign-up counts from `started` (default: the POST) to the redirect."""
    posted = time.perf_counter()
    response, body = _post(port, gesprek, email, csrf)
    done = time.perf_counter()
    if response.status == 302:
        tally.add(done - (posted if started is None else started), done - posted, "ok")
    else:
        tally.error(f"POST {response.status}: {body[:200]!r}")


def full_sign_up(port: int, gesprek: int, email: str, tally: Tally) -> None:
    """A first visit: GET the gesprek page for the CSRF cookie and token, then POST the form."""
    started = time.perf_counter()
    csrf = _csrf(port, gesprek, tally)
    if csrf is not None:
        _post_and_count(port, gesprek, email, csrf, tally, started)


_browser = threading.local()


def post_sign_up(port: int, gesprek: int, email: str, tally: Tally) -> None:
    """The sign-up path alone, one POST per sign-up as for the bare view: each client
    thread GETs a page once for its CSRF cookie and token and keeps them, as a browser
    does (that GET is not a sign-up; its time counts against this mode's rate)."""
    if getattr(_browser, "csrf", None) is None:
        _browser.csrf = _csrf(port, gesprek, tally)
    if _browser.csrf is not None:
        _post_and_count(port, gesprek, email, _browser.csrf, tally)


def bare_sign_up(port: int, gesprek: int, email: str, tally: Tally) -> None:
    form = urlencode({"name": "Bench Bewoner", "email": email, "postcode": "3511 AB"}).encode()
    started = time.perf_counter()
    response, body = _request(
        port,
        "POST",
        f"/bare/{gesprek}/",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    done = time.perf_counter()
    if response.status == 201:
        tally.add(done - started, done - started, "ok")
    else:
        tally.error(f"POST {response.status}: {body[:200]!r}")


def drive(sign_up, port: int, ids: dict, *, clients: int, seconds: float, tag: str) -> dict:
    """`clients` threads signing up new addresses until `seconds` have passed; the raw
    material of a result (see merge)."""
    tally = Tally()
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        rng = random.Random(f"{tag}-{number}")
        count = 0
        while time.monotonic() < deadline:
            count += 1
            email = f"{tag}-{number}-{count}@bench.invalid"
            try:
                sign_up(port, pick(rng, ids), email, tally)
            except Exception as error:  # a refused or reset connection counts as an error
                tally.error(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started, cpu = time.monotonic(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "ok": tally.statuses.get("ok", 0),
        "errors": tally.statuses.get("error", 0),
        "seconds": time.monotonic() - started,
        "latencies": tally.latencies,
        "post_latencies": tally.post_latencies,
        "client_cpu": time.process_time() - cpu,
        "first_errors": tally.errors,
    }


def merge(slices: list[dict]) -> dict:
    """One result from the slices of a mode (interleaved with the other modes' slices)."""
    ok = sum(one["ok"] for one in slices)
    seconds = sum(one["seconds"] for one in slices)
    latencies = [x for one in slices for x in one["latencies"]]
    post = [x for one in slices for x in one.get("post_latencies", [])]
    result = {
        "signups": ok,
        "errors": sum(one["errors"] for one in slices),
        "seconds": round(seconds, 2),
        "slices": len(slices),
        "signups_per_s": round(ok / seconds, 1) if seconds else None,
        "p50_ms": common.ms(common.percentile(latencies, 0.5)),
        "p95_ms": common.ms(common.percentile(latencies, 0.95)),
    }
    if post:
        result["post_p50_ms"] = common.ms(common.percentile(post, 0.5))
        result["post_p95_ms"] = common.ms(common.percentile(post, 0.95))
    if "client_cpu" in slices[0]:
        # How much of a core the client threads themselves used (2 cores in all here).
        result["client_cpu_cores"] = round(sum(one["client_cpu"] for one in slices) / seconds, 2)
    if "server_cpu" in slices[0] and ok:
        # CPU time of the gunicorn processes per sign-up: steadier than the rate when the
        # neighbours' load swings (PostgreSQL's own CPU time is not in it).
        cpu = sum(one["server_cpu"] for one in slices)
        result["server_cpu_ms_per_signup"] = round(cpu / ok * 1000, 2)
    first_errors = [e for one in slices for e in one.get("first_errors", [])][:5]
    if first_errors:
        result["first_errors"] = first_errors
    return result


# --- pgbench --------------------------------------------------------------------------------


def run_pgbench(ids: dict, *, clients: int, seconds: int) -> dict:
    script = PGBENCH_SCRIPT
    prefix = common.VAR / f"pgbench-{clients}"
    for old in common.VAR.glob(f"{prefix.name}.*"):
        old.unlink()
    command = [
        "pgbench",
        "--no-vacuum",
        f"--client={clients}",
        "--jobs=2",
        f"--time={int(seconds)}",
        f"--file={script}",
        "--log",
        f"--log-prefix={prefix}",
        f"--define=small_permille={int(SMALL_SHARE * 1000)}",
        f"--define=small_lo={ids['small'][0]}",
        f"--define=small_hi={ids['small'][-1]}",
        f"--define=big_lo={ids['big'][0]}",
        f"--define=big_hi={ids['big'][-1]}",
        os.environ["DATABASE_URL"],
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    latencies = []
    for path in common.VAR.glob(f"{prefix.name}.*"):
        for line in Path(path).read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                latencies.append(int(fields[2]) / 1e6)
    return {
        "ok": len(latencies),
        "errors": int(failed.group(1)) if failed else 0,
        "seconds": seconds,
        "latencies": latencies,
    }


# --- checks ---------------------------------------------------------------------------------


def check_capacity() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT g.id, g.max_participants,
                   count(*) FILTER (WHERE a.status IN
                     ('onbevestigd', 'bevestigd', 'aangeboden', 'aanwezig')) AS seats,
                   count(*) FILTER (WHERE a.status = 'wachtlijst') AS waiting
            FROM gesprekken_gesprek g
            LEFT JOIN gesprekken_aanmelding a ON a.gesprek_id = g.id
            WHERE g.street LIKE %s
            GROUP BY g.id, g.max_participants
            """,
            [f"{STREET}-%"],
        )
        rows = cursor.fetchall()
    over = [row[0] for row in rows if row[2] > row[1]]
    return {
        "gesprekken": len(rows),
        "overbooked": len(over),
        "overbooked_ids": over[:10],
        "full": sum(1 for row in rows if row[2] == row[1]),
        "seats_taken": sum(row[2] for row in rows),
        "waiting_list": sum(row[3] for row in rows),
        "ok": not over,
    }


def check_outbox(expected: int) -> dict:
    """Every sign-up on the site queued exactly one mail (bevestig_email or wachtlijst)."""
    from django.db.models import Q

    from gesprekken.models import Aanmelding, Bericht

    site = Q(email__startswith="http-") | Q(email__startswith="post-")
    http_signups = Aanmelding.objects.filter(site).count()
    mails = Bericht.objects.filter(aanmelding__in=Aanmelding.objects.filter(site)).count()
    return {"http_signups": http_signups, "reported": expected, "outbox_rows": mails}


# --- the part -------------------------------------------------------------------------------


def gunicorn(settings_module: str, port: int, log_name: str, queue: str):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    command = [
        str(common.BIN / "gunicorn"),
        "buurtgesprek.wsgi",
        f"--workers={GUNICORN_WORKERS}",
        f"--bind=127.0.0.1:{port}",
        "--backlog=256",
        "--timeout=60",
    ]
    return common.running(command, log_name=log_name, env=env)


def main() -> None:
    common.prepare_env()
    common.setup_django()
    from django.core.management import call_command
    from django.db import connection

    common.ensure_geography()
    call_command("collectstatic", interactive=False, verbosity=0)
    common.truncate("gesprekken_gesprek", "gesprekken_aanmelding", "gesprekken_bericht")
    common.truncate("buurtgesprek_cache")
    with connection.cursor() as cursor:
        cursor.execute("DROP SEQUENCE IF EXISTS bench_signup_seq")
        cursor.execute("CREATE SEQUENCE bench_signup_seq")
    connection.close()

    queue = f"bench-signup-{uuid.uuid4().hex[:8]}"
    full_port, bare_port = common.free_port(), common.free_port()
    results: dict[tuple[str, int], dict] = {}
    profiles: dict[tuple[str, int], list] = {}
    reported_http = 0
    common.log(f"gunicorn ×{GUNICORN_WORKERS} on :{full_port} (site) and :{bare_port} (bare)")
    try:
        with (
            gunicorn("bench.settings", full_port, "gunicorn-site.log", queue) as site,
            gunicorn("bench.bare_settings", bare_port, "gunicorn-bare.log", queue) as bare,
        ):
            common.wait_for_http(full_port, "/", timeout=60, process=site)
            common.wait_for_http(bare_port, "/bare/0/", timeout=60, process=bare)
            # Warm up: every worker imports, connects and renders once before timing.
            warm = make_gesprekken("warmup")
            drive(full_sign_up, full_port, warm, clients=8, seconds=2, tag="warm-http")
            drive(bare_sign_up, bare_port, warm, clients=8, seconds=2, tag="warm-bare")
            for clients in CLIENTS:
                # Each mode gets its own gesprekken, and its time in ROUNDS slices that
                # take turns with the other modes': a swing in the neighbours' load then
                # falls on all three alike.
                ids = {mode: make_gesprekken(f"{mode}-{clients}") for mode in MODES}
                connection.close()
                slices = {mode: [] for mode in MODES}
                common.log(
                    f"{clients} clients: {', '.join(MODES)} in turns, "
                    f"{ROUNDS} × {SLICE_SECONDS} s each"
                )
                for number in range(ROUNDS):
                    for mode in MODES:
                        tag = f"{mode}-{clients}-r{number}"
                        if mode == "pgbench":
                            slices[mode].append(
                                run_pgbench(ids[mode], clients=clients, seconds=SLICE_SECONDS)
                            )
                            continue
                        sign_up, port, server = {
                            "http": (full_sign_up, full_port, site),
                            "post": (post_sign_up, full_port, site),
                            "bare": (bare_sign_up, bare_port, bare),
                        }[mode]
                        cpu = common.cpu_seconds(server.pid)
                        with common.profiled(server.pid, f"{mode}-{clients}-{number}") as profile:
                            one = drive(
                                sign_up,
                                port,
                                ids[mode],
                                clients=clients,
                                seconds=SLICE_SECONDS,
                                tag=tag,
                            )
                        one["server_cpu"] = common.cpu_seconds(server.pid) - cpu
                        if profile:
                            profiles.setdefault((mode, clients), []).append(profile)
                        slices[mode].append(one)
                for mode in MODES:
                    result = merge(slices[mode])
                    if mode in ("http", "post"):
                        reported_http += result["signups"]
                    results[(mode, clients)] = result
                    common.emit(PART, mode, clients=clients, **result)
                    if profiles.get((mode, clients)):
                        common.emit(
                            PART,
                            f"profile_{mode}",
                            clients=clients,
                            **common.summarise_profile(*profiles[(mode, clients)]),
                        )
    finally:
        common.purge_queue(queue)

    for clients in CLIENTS:
        rate = {mode: results[(mode, clients)]["signups_per_s"] for mode in MODES}
        cpu = {mode: results[(mode, clients)].get("server_cpu_ms_per_signup") for mode in MODES}
        common.emit(
            PART,
            "ratios",
            clients=clients,
            http_vs_bare=common.ratio(rate["http"], rate["bare"]),
            post_vs_bare=common.ratio(rate["post"], rate["bare"]),
            http_vs_pgbench=common.ratio(rate["http"], rate["pgbench"]),
            bare_vs_pgbench=common.ratio(rate["bare"], rate["pgbench"]),
            # The same comparisons by the web server's CPU time per sign-up (bare / site).
            http_vs_bare_by_server_cpu=common.ratio(cpu["bare"], cpu["http"]),
            post_vs_bare_by_server_cpu=common.ratio(cpu["bare"], cpu["post"]),
            target_post_vs_bare=0.5,
        )
    capacity = check_capacity()
    common.emit(PART, "capacity", **capacity)
    common.emit(PART, "outbox", **check_outbox(reported_http))
    if not capacity["ok"]:
        raise SystemExit("overbooking: a gesprek holds more seats than it has")


if __name__ == "__main__":
    main()


def summarise(figures: list[dict]) -> list[str]:
    lines = []
    rates = {(f["figure"], f.get("clients")): f for f in figures}
    for clients in CLIENTS:
        ratios = rates.get(("ratios", clients))
        if not ratios:
            continue
        http, post, bare, pgb = (rates[(m, clients)] for m in ("http", "post", "bare", "pgbench"))

        def mark(ratio):
            return "ok" if (ratio or 0) >= 0.5 else "MISSED"

        lines.append(
            f"{clients} clients: bare view {bare['signups_per_s']}/s, pgbench "
            f"{pgb['signups_per_s']}/s (bare/pgbench {ratios['bare_vs_pgbench']}); "
            f"server CPU per sign-up bare {bare.get('server_cpu_ms_per_signup')} ms"
        )
        lines.append(
            f"  the sign-up POST (CSRF, form, lock, insert, outbox, enqueue): site "
            f"{post['signups_per_s']}/s (p50 {post['p50_ms']} ms, p95 {post['p95_ms']} ms); "
            f"site/bare {ratios['post_vs_bare']} (target ≥ 0.5: {mark(ratios['post_vs_bare'])}); "
            f"server CPU {post.get('server_cpu_ms_per_signup')} ms "
            f"(bare/site {ratios['post_vs_bare_by_server_cpu']})"
        )
        lines.append(
            f"  a first visit (GET the page + POST): site {http['signups_per_s']}/s "
            f"(p50 {http['p50_ms']} ms, p95 {http['p95_ms']} ms); site/bare "
            f"{ratios['http_vs_bare']} (no target: the bare view has no page to GET), "
            f"site/pgbench "
            f"{ratios['http_vs_pgbench']}; server CPU {http.get('server_cpu_ms_per_signup')} ms "
            f"(bare/site {ratios['http_vs_bare_by_server_cpu']})"
        )
    capacity = rates.get(("capacity", None))
    if capacity:
        lines.append(
            f"capacity: {capacity['overbooked']} of {capacity['gesprekken']} gesprekken "
            f"overbooked, {capacity['full']} full, {capacity['waiting_list']} on waiting lists"
        )
    return lines
