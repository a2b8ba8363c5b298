"""Addresses no page can have, answered before a view passes them to the database."""

from django.http import Http404


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
