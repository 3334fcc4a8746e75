from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "dreams"

urlpatterns = [
    # The history lists dreams and films; old links to /dreams/ go there.
    path("", RedirectView.as_view(pattern_name="history:list")),
    path("new/", views.dream_create, name="create"),
    path("<uuid:public_id>/", views.dream_detail, name="detail"),
    path("<uuid:public_id>/cancel/", views.dream_cancel, name="cancel"),
    path("<uuid:public_id>/retry/", views.dream_retry, name="retry"),
    path("<uuid:public_id>/delete/", views.dream_delete, name="delete"),
    path("<uuid:public_id>/video.mp4", views.dream_video, name="video"),
    path("<uuid:public_id>/poster.jpg", views.dream_poster, name="poster"),
]
