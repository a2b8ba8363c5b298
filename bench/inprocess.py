"""CPU per unit of work inside one process, without servers or clients around it.

The other parts measure whole paths against their baselines; this one says where a
worker's or a web process's own time goes, for comparing two trees (run it in each):

- `reminder_mail`: a reminder rendered by an outbox batch (emails.Batch, given the batch's
  rows as the outbox gives them) and written to the bytes the SMTP backend sends, per
  mail, for 2,000 due reminders in batches of outbox.BATCH_SIZE loaded as the outbox loads
  them (ten seats a gesprek, one in ten in English, as in the reminders part); and the
  envelope's sender and recipient worked out as buurtgesprek.mail does and as Django's
  `sanitize_address` does.
- `signup_post`: a sign-up POST through Django's test client with the production
  settings, per request (the form, the rate limits, the lock, the insert, the outbox row
  and its task on Redis).
- `orm_compile`: what Django takes to build and compile, without running them, the two
  statements the sign-up now has written out (services._lock_for_sign_up_sql,
  queries.public_theme), as querysets: the lock with its block check, the theme read.

Thread CPU time, best of three passes. `python -m bench.inprocess`.
"""

import time
import uuid

from bench import common

PART = "inprocess"
MAILS = 2000
POSTS = 300


def best_cpu(run, passes: int = 3) -> float:
    """The least thread CPU time of `passes` runs of run(), in seconds."""
    best = None
    for _ in range(passes):
        started = time.thread_time()
        run()
        spent = time.thread_time() - started
        best = spent if best is None else min(best, spent)
    return best


def reminder_mails() -> dict:
    from django.core.mail.message import sanitize_address

    from bench.reminders import make_due
    from buurtgesprek.mail import envelope_address
    from gesprekken import emails, outbox
    from gesprekken.models import Bericht
    from gesprekken.tasks import send_due_reminders

    common.truncate("gesprekken_gesprek", "gesprekken_aanmelding", "gesprekken_bericht")
    make_due(MAILS)
    send_due_reminders()
    pks = list(
        Bericht.objects.filter(kind="herinnering").order_by("pk").values_list("pk", flat=True)
    )
    batches = [
        list(
            Bericht.objects.select_related(
                "aanmelding", "interesse__buurt", "gesprek__buurt", "gesprek__thema"
            )
            .filter(pk__in=pks[start : start + outbox.BATCH_SIZE])
            .order_by("pk")
        )
        for start in range(0, len(pks), outbox.BATCH_SIZE)
    ]
    mails = []

    def render():
        mails.clear()
        for batch in batches:
            rendering = emails.Batch(batch)
            mails.extend(rendering.render(bericht) for bericht in batch)

    def envelopes(work):
        # Sender and recipients as an SMTP backend's _send works them out (utf-8 mails).
        return lambda: [(work(m.from_email, "utf-8"), work(m.to[0], "utf-8")) for m in mails]

    rendered = best_cpu(render)
    written = best_cpu(lambda: [m.message().as_bytes(linesep="\r\n") for m in mails])
    ours = best_cpu(envelopes(envelope_address))
    djangos = best_cpu(envelopes(sanitize_address))
    return {
        "mails": len(mails),
        "render_us_per_mail": round(rendered / len(mails) * 1e6, 1),
        "bytes_us_per_mail": round(written / len(mails) * 1e6, 1),
        "written_ahead": sum(getattr(m, "written", None) is not None for m in mails),
        "envelope_us_per_mail": round(ours / len(mails) * 1e6, 1),
        "django_envelope_us_per_mail": round(djangos / len(mails) * 1e6, 1),
    }


def signup_posts() -> dict:
    from django.test import Client

    from bench.signup import CSRF_INPUT, make_gesprekken

    common.truncate("buurtgesprek_cache")  # the rate limits' counters of earlier runs
    ids = make_gesprekken("inprocess")["big"]
    client = Client(HTTP_HOST="127.0.0.1")
    token = CSRF_INPUT.search(client.get(f"/gesprek/{ids[0]}/").content).group(1).decode()
    sent = iter(range(10**9))

    def post():
        number = next(sent)
        response = client.post(
            f"/gesprek/{ids[number % len(ids)]}/aanmelden/",
            {
                "csrfmiddlewaretoken": token,
                "name": "Bench Bewoner",
                "email": f"inprocess-{number}@bench.invalid",
                "postcode": "3511 AB",
                "phone": "",
                "language": "nl",
                "consent": "on",
            },
        )
        if response.status_code != 302:
            raise SystemExit(f"sign-up POST answered {response.status_code}")

    for _ in range(20):  # warm: templates, lists, connections
        post()
    spent = best_cpu(lambda: [post() for _ in range(POSTS)])
    return {"posts": POSTS, "cpu_ms_per_post": round(spent / POSTS * 1000, 3)}


def orm_compile() -> dict:
    from django.db import connection, transaction
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from gesprekken import incidents
    from gesprekken.models import Gesprek

    today = timezone.localdate()

    def lock():
        blocked = incidents.blocks(buurt_id=OuterRef("buurt_id"), email="a@b.nl", today=today)
        query = Gesprek.objects.select_for_update(of=("self",)).annotate(blocked=Exists(blocked))
        return query.filter(pk=1).query.get_compiler(connection=connection).as_sql()

    def theme():
        query = Gesprek.objects.exclude(status=Gesprek.Status.CONCEPT).filter(pk=1)
        return (
            query.values_list("thema_id", flat=True)
            .query.get_compiler(connection=connection)
            .as_sql()
        )

    runs = 1000
    with transaction.atomic():  # select_for_update compiles only inside one
        locked = best_cpu(lambda: [lock() for _ in range(runs)])
    read = best_cpu(lambda: [theme() for _ in range(runs)])
    return {
        "lock_us": round(locked / runs * 1e6, 1),
        "theme_us": round(read / runs * 1e6, 1),
    }


def main() -> None:
    queue = f"bench-inprocess-{uuid.uuid4().hex[:8]}"
    common.prepare_env(CELERY_TASK_DEFAULT_QUEUE=queue)
    common.setup_django()
    from django.core.management import call_command

    common.ensure_geography()
    # The gesprek page links the static files by their manifest (production settings).
    call_command("collectstatic", interactive=False, verbosity=0)
    try:
        common.emit(PART, "reminder_mail", **reminder_mails())
        common.emit(PART, "signup_post", **signup_posts())
        common.emit(PART, "orm_compile", **orm_compile())
    finally:
        common.purge_queue(queue)


def summarise(figures: list[dict]) -> list[str]:
    by = {f["figure"]: f for f in figures}
    lines = []
    if "reminder_mail" in by:
        r = by["reminder_mail"]
        lines.append(
            f"reminder: render {r['render_us_per_mail']} µs, bytes {r['bytes_us_per_mail']} µs "
            f"a mail ({r['written_ahead']:,} of {r['mails']:,} written ahead); envelope "
            f"{r.get('envelope_us_per_mail')} µs (Django's sanitize_address "
            f"{r.get('django_envelope_us_per_mail')} µs)"
        )
    if "signup_post" in by:
        lines.append(f"sign-up POST: {by['signup_post']['cpu_ms_per_post']} ms of CPU")
    if "orm_compile" in by:
        o = by["orm_compile"]
        lines.append(
            f"Django building and compiling the sign-up's lock {o['lock_us']} µs, "
            f"its theme read {o['theme_us']} µs (now written out)"
        )
    return lines


if __name__ == "__main__":
    main()
