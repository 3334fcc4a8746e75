"""The home page and the history: what a signed-in user asked for, dreams and films together.
Only the owner's rows are read; another user's never appear."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.http import AuthenticatedRequest
from dreams.models import Dream
from films.models import Film
from lib.pagination import OneQueryPaginator

#: Dreams per page of the history.
PAGE_SIZE = 12
#: The newest films shown above the dreams on the first page; the films page has them all.
NEWEST_FILMS = 4
#: Only what a card shows: the history is the most visited page, and rows carry long text.
DREAM_CARD_FIELDS = (
    "public_id", "status", "progress", "prompt", "character_name", "poster", "created_at",
)  # fmt: skip
FILM_CARD_FIELDS = ("public_id", "status", "progress", "title", "poster", "created_at")


def home(request: HttpRequest) -> HttpResponse:
    """Visitors see what the product does; signed-in users go straight to their history."""
    if request.user.is_authenticated:
        return redirect("history:list")
    return render(request, "home.html")


@login_required
def history_list(request: AuthenticatedRequest) -> HttpResponse:
    """The user's dreams, newest first, ``PAGE_SIZE`` a page (``?page=N``), with their newest
    films above them on the first page."""
    dreams = (
        Dream.objects.filter(owner=request.user)
        .only(*DREAM_CARD_FIELDS)
        .order_by("-created_at", "-id")
    )
    page = OneQueryPaginator(dreams, PAGE_SIZE).get_page(request.GET.get("page"))
    films = Film.objects.filter(owner=request.user).only(*FILM_CARD_FIELDS)[:NEWEST_FILMS]
    return render(request, "history/list.html", {"page": page, "films": films})
