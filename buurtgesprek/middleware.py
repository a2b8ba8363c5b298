"""Requests no page can answer, turned away before a view or Django's form parsing trips
over them: addresses the database refuses, bodies in a charset that is no text encoding."""

import codecs

from django.http import Http404
from django.views.defaults import bad_request


class RejectNulInPathMiddleware:
    """404 for a path with a NUL character (/buurt/%00/).

    Views look codes from the path up in the database, and PostgreSQL refuses a string
    with NUL in it (a ValueError, so a 500). No code, token or slug of ours contains one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info:
            raise Http404
        return self.get_response(request)


class RejectUnreadableBodyMiddleware:
    """400 for a body whose Content-Type names a codec that is no text encoding
    (`multipart/form-data; charset=rot13`, hex, base64, zlib …).

    Django checks only that the charset exists, then decodes a multipart body with it: a
    LookupError, so a 500, on any form, before or inside the CSRF check. An unknown charset
    Django already ignores (it reads the body as UTF-8). Placed before CsrfViewMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        charset = request.content_params.get("charset") if request.content_params else None
        if charset and not _text_encoding(charset):
            return bad_request(request, exception=None)
        return self.get_response(request)


def _text_encoding(charset: str) -> bool:
    """False for a codec Python knows that does not turn bytes into text."""
    try:
        codecs.lookup(charset)
    except LookupError:
        return True  # unknown: Django leaves it out
    try:
        b"x".decode(charset)  # (an empty body is never decoded, so it would not tell)
    except LookupError:
        return False
    except ValueError:  # a text encoding that finds one byte too short (utf-16, …)
        pass
    return True
