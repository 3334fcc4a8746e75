"""The portal's URLs plus one trivial view, the baseline the history benchmark compares with:
it passes through every middleware (sessions, auth, CSP, metrics) and renders nothing."""

from django.http import HttpResponse
from django.urls import path

from dreamsite.urls import urlpatterns as portal_urlpatterns


def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/trivial/", trivial), *portal_urlpatterns]
