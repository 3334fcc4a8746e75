"""The portal's URLs plus two trivial views, the baselines the history benchmark compares with.

``bench/trivial/`` passes through every middleware (sessions, auth, CSP, metrics) and renders
nothing: the target's baseline. ``bench/trivial-signed-in/`` does the same after the sign-in
check every portal page makes (the session read from the cache and the user's row), so its
gap to the history page is the page's own work: the cards' query and the template."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from dreamsite.urls import urlpatterns as portal_urlpatterns


def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial/", trivial),
    path("bench/trivial-signed-in/", login_required(trivial)),
    *portal_urlpatterns,
]
