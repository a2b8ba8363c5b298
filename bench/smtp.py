"""The SMTP side of the reminders part: a counting sink and a plain smtplib client.

The sink is aiosmtpd on 127.0.0.1 (as in tests/integration/smtp_sink.py) that keeps, per
accepted message, the arrival time, the X-Buurtgesprek-Bericht header and the recipient;
it does not parse the message, so it costs the same whoever sends.

`python -m bench.smtp --port P --count N --threads T --message FILE [--per-connection K]`
is the raw client: T threads send N copies of FILE, K messages per SMTP connection
(connect, EHLO, then MAIL, RCPT, DATA K times, QUIT). K=1 is what Django's SMTP backend
does for one `EmailMessage.send()`; K=outbox.BATCH_SIZE is what a worker does for one
batch of the outbox (send_berichten), the like-for-like baseline for the reminders.
"""

import argparse
import itertools
import re
import smtplib
import threading
import time
from contextlib import contextmanager

from aiosmtpd.controller import Controller

from bench.common import free_port

BERICHT_HEADER = re.compile(rb"^X-Buurtgesprek-Bericht: *(\S+)", re.MULTILINE | re.IGNORECASE)


class CountingSink:
    def __init__(self):
        self.arrivals: list[tuple[float, str | None, str]] = []

    async def handle_DATA(self, server, session, envelope):
        header = envelope.content[:8192]
        found = BERICHT_HEADER.search(header)
        bericht = found.group(1).decode() if found else None
        self.arrivals.append((time.monotonic(), bericht, envelope.rcpt_tos[0]))
        return "250 2.0.0 OK"

    def reset(self) -> None:
        self.arrivals = []


@contextmanager
def sink():
    """Yield (sink, port) while an SMTP server listens on 127.0.0.1:port."""
    handler = CountingSink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def send_raw(
    port: int, count: int, threads: int, message: bytes, deadline: float, per_connection: int = 1
) -> int:
    sent = 0
    lock = threading.Lock()
    numbers = iter(range(count))

    def client():
        nonlocal sent
        while time.monotonic() < deadline:
            with lock:
                batch = list(itertools.islice(numbers, per_connection))
            if not batch:
                return
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as connection:
                for number in batch:
                    connection.sendmail(
                        "noreply@buurtgesprek.nl", [f"raw-{number}@bench.invalid"], message
                    )
            with lock:
                sent += len(batch)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--message", required=True)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--per-connection", type=int, default=1)
    args = parser.parse_args()
    with open(args.message, "rb") as file:
        message = file.read()
    deadline = time.monotonic() + args.seconds
    sent = send_raw(
        args.port, args.count, args.threads, message, deadline, max(1, args.per_connection)
    )
    print(sent)


if __name__ == "__main__":
    main()
