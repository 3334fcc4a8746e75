from django.urls import path

from . import views

app_name = "characters"

urlpatterns = [
    path("", views.character_list, name="list"),
    path("new/", views.character_create, name="create"),
    path("<uuid:public_id>/", views.character_detail, name="detail"),
    path("<uuid:public_id>/delete/", views.character_delete, name="delete"),
    path("<uuid:public_id>/describe/", views.character_describe, name="describe"),
    path("<uuid:public_id>/images/add/", views.image_add, name="image_add"),
    path("<uuid:public_id>/images/<int:image_id>/remove/", views.image_remove, name="image_remove"),
    path("<uuid:public_id>/images/<int:image_id>/move/", views.image_move, name="image_move"),
    path(
        "<uuid:public_id>/images/<int:image_id>/<str:variant>.jpg",
        views.image_file,
        name="image_file",
    ),
]
