"""Development-only pages: the local mailbox of `make run` (404 unless DEBUG)."""

import email
from email import policy
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.shortcuts import render


def _mail_dir() -> Path:
    """The file backend's folder; 404 in production or when mail does not go to files."""
    folder = getattr(settings, "EMAIL_FILE_PATH", None)
    if not settings.DEBUG or not folder:
        raise Http404
    return Path(folder)


def _read(path: Path) -> list[email.message.EmailMessage]:
    # The file backend appends each message followed by a line of 79 dashes.
    raw = path.read_bytes().split(b"\n" + b"-" * 79 + b"\n")
    return [
        email.message_from_bytes(chunk, policy=policy.default) for chunk in raw if chunk.strip()
    ]


def dev_mailbox(request):
    folder = _mail_dir()
    files = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
    mails = []
    for path in files[:200]:
        for message in _read(path):
            mails.append({"file": path.name, "to": message["To"], "subject": message["Subject"]})
    return render(request, "dev/mailbox.html", {"mails": mails})


def dev_mail(request, name):
    path = _mail_dir() / name
    if "/" in name or not name.endswith(".log") or not path.is_file():
        raise Http404
    messages = []
    for message in _read(path):
        text = message.get_body(preferencelist=("plain",))
        messages.append(
            {
                "headers": {k: message[k] for k in ("From", "To", "Subject", "Date")},
                "body": text.get_content() if text else "",
                "attachments": [part.get_filename() for part in message.iter_attachments()],
            }
        )
    return render(request, "dev/mail.html", {"name": name, "messages": messages})
