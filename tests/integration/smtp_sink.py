"""A real SMTP server on loopback (aiosmtpd) that records what it accepts.

`answers` scripts the reply to the next DATA commands ("451 4.3.0 Try again later",
"550 5.1.1 No such user"); once it is empty every message is accepted and kept.
"""

import socket
import threading
from contextlib import contextmanager
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    def __init__(self):
        self.answers: list[str] = []
        self.received = []
        self.refused = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self.answers:
                self.refused += 1
                return self.answers.pop(0)
            self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 2.0.0 OK"

    def bericht_ids(self) -> list[str]:
        with self._lock:
            return [message["X-Buurtgesprek-Bericht"] for message in self.received]


@contextmanager
def serving(sink: Sink):
    """Yield `sink` while an SMTP server with it listens on 127.0.0.1:`sink.port`."""
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    try:
        yield sink
    finally:
        controller.stop()


@contextmanager
def smtp_sink():
    """Yield (sink, port) while an SMTP server listens on 127.0.0.1:port."""
    with serving(Sink()) as sink:
        yield sink, sink.port


@contextmanager
def silent_server():
    """Yield the port of a server that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
