"""Middleware of our own that is not a feature: it sets how Django runs the stack."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class SynchronousStackMiddleware:
    """Runs every request's middleware in one thread under ASGI (daphne), the way WSGI does.

    Django builds the stack from the bottom, and each middleware runs in the mode of the one
    beneath it where it can (``django.core.handlers.base.BaseHandler.load_middleware``). The
    stock middleware can run either way, so under ASGI they ran asynchronously, each of their
    ``process_request``/``process_response`` calls hopping to the request's thread and back:
    about twenty thread hand-overs per page, for views that are all synchronous. Being
    synchronous only and last in ``MIDDLEWARE``, this one puts the whole stack in sync mode: one
    hop into the request's thread, then plain calls. Measured side by side in one run
    (``bench/history_throughput.py --compare-stacks``): 1.7 times the throughput of a trivial
    page, 1.3 times that of the history page.
    See Django's docs, "Asynchronous support", on the cost of switching modes.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
