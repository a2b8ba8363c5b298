import pytest
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse


@pytest.fixture
def mail_dir(settings, tmp_path):
    """DEBUG on, with the file backend of `make run` writing into a fresh folder."""
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    return tmp_path


def test_a_sent_mail_shows_in_the_mailbox_and_opens_in_full(client, mail_dir):
    message = EmailMessage(
        "Je aanmelding voor het buurtgesprek",
        "Bevestig je aanmelding: http://127.0.0.1:8000/bevestig/abc/",
        "noreply@buurtgesprek.nl",
        ["bewoner@example.org"],
    )
    message.attach("gesprek.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    second = EmailMessage("Tweede bericht", "Nog een.", to=["buur@example.org"])
    # One connection writes one file; the mailbox splits it into its messages.
    get_connection().send_messages([message, second])
    (log,) = mail_dir.glob("*.log")

    mailbox = client.get(reverse("dev_mailbox"))

    assert mailbox.status_code == 200
    assert [(m["to"], m["subject"]) for m in mailbox.context["mails"]] == [
        ("bewoner@example.org", "Je aanmelding voor het buurtgesprek"),
        ("buur@example.org", "Tweede bericht"),
    ]
    detail_url = reverse("dev_mail", args=[log.name])
    assert f'href="{detail_url}"' in mailbox.text

    detail = client.get(detail_url)

    assert detail.status_code == 200
    first, second = detail.context["messages"]
    assert first["headers"]["To"] == "bewoner@example.org"
    assert first["body"].strip() == "Bevestig je aanmelding: http://127.0.0.1:8000/bevestig/abc/"
    assert first["attachments"] == ["gesprek.ics"]
    assert second["headers"]["Subject"] == "Tweede bericht"
    assert '<a href="http://127.0.0.1:8000/bevestig/abc/"' in detail.text


def test_the_mailbox_is_empty_before_any_mail_is_sent(client, mail_dir):
    response = client.get(reverse("dev_mailbox"))

    assert response.status_code == 200
    assert response.context["mails"] == []
    assert "No e-mails yet." in response.text


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../secret.log",
        "..%2Fsecret.log",
        "%2E%2E%2Fsecret.log",
        "notes.txt",
        "missing.log",
        "sub",
    ],
)
def test_path_tricks_and_other_files_get_404(client, mail_dir, name):
    outside = mail_dir.parent / "secret.log"
    outside.write_text("To: x@y\nSubject: Outside\n\nOUTSIDE-BODY")
    (mail_dir / "notes.txt").write_text("To: x@y\nSubject: Notes\n\nNOTES-BODY")
    (mail_dir / "sub").mkdir()

    response = client.get(f"/dev/mail/{name}")

    assert response.status_code == 404
    assert "BODY" not in response.text


@pytest.mark.parametrize("url", ["/dev/mail/", "/dev/mail/20260101-000000-1.log"])
def test_the_mailbox_does_not_exist_without_debug(client, mail_dir, settings, url):
    settings.DEBUG = False
    (mail_dir / "20260101-000000-1.log").write_text("To: x@y\nSubject: Hidden\n\nHIDDEN-BODY")

    response = client.get(url)

    assert response.status_code == 404
    assert "HIDDEN-BODY" not in response.text


def test_the_mailbox_does_not_exist_when_mail_does_not_go_to_files(client, mail_dir, settings):
    del settings.EMAIL_FILE_PATH

    response = client.get(reverse("dev_mailbox"))

    assert response.status_code == 404
