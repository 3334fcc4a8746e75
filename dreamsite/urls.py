from django.contrib import admin
from django.urls import include, path

from history.views import home
from jobs.metrics import metrics

# Operators should see which site they run, not Django's default "Django administration".
admin.site.site_header = "Dreamsite administration"
admin.site.site_title = "Dreamsite admin"
admin.site.index_title = "Operations"

urlpatterns = [
    path("", home, name="home"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("characters/", include("characters.urls")),
    path("history/", include("history.urls")),
    path("dreams/", include("dreams.urls")),
    path("films/", include("films.urls")),
]
