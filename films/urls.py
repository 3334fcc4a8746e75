from django.urls import path

from . import file_views, scene_views, script_views, views

app_name = "films"

urlpatterns = [
    path("", views.film_list, name="list"),
    path("new/", views.film_create, name="create"),
    path("<uuid:public_id>/", views.film_detail, name="detail"),
    path("<uuid:public_id>/render/", views.film_render, name="render"),
    path("<uuid:public_id>/cancel/", views.film_cancel, name="cancel"),
    path("<uuid:public_id>/retry/", views.film_retry, name="retry"),
    path("<uuid:public_id>/delete/", views.film_delete, name="delete"),
    path("<uuid:public_id>/script/retry/", script_views.script_retry, name="script_retry"),
    path("<uuid:public_id>/script/template/", script_views.script_template, name="script_template"),
    path("<uuid:public_id>/script/revise/", script_views.script_revise, name="script_revise"),
    path("<uuid:public_id>/scenes/add/", scene_views.scene_add, name="scene_add"),
    path("<uuid:public_id>/scenes/<uuid:scene_id>/", views.scene_update, name="scene_update"),
    path(
        "<uuid:public_id>/scenes/<uuid:scene_id>/move/", scene_views.scene_move, name="scene_move"
    ),
    path(
        "<uuid:public_id>/scenes/<uuid:scene_id>/delete/",
        scene_views.scene_delete,
        name="scene_delete",
    ),
    path(
        "<uuid:public_id>/scenes/<uuid:scene_id>/reroll/",
        scene_views.scene_reroll,
        name="scene_reroll",
    ),
    path(
        "<uuid:public_id>/scenes/<uuid:scene_id>/rerender/",
        scene_views.scene_rerender,
        name="scene_rerender",
    ),
    path(
        "<uuid:public_id>/scenes/<uuid:scene_id>/<str:field>",
        file_views.scene_file,
        name="scene_file",
    ),
    path("<uuid:public_id>/film.mp4", file_views.film_video, name="video"),
    path("<uuid:public_id>/poster.jpg", file_views.film_poster, name="poster"),
    path("<uuid:public_id>/subtitles.<str:format>", file_views.film_subtitles, name="subtitles"),
]
