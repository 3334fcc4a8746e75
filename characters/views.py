"""Character pages. Every lookup goes through the signed-in owner, so another user's
character is a 404, never a 403 that would confirm it exists."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from lib.files import file_response
from lib.forms import form_status

from . import services
from .forms import AddImagesForm, CharacterDetailsForm, CharacterForm
from .models import Character, ReferenceImage
from .sheets import describe_from_photos, sheet_writer


def _owned_character(request: AuthenticatedRequest, public_id: UUID) -> Character:
    return get_object_or_404(Character, public_id=public_id, owner=request.user)


def _owned_image(request: AuthenticatedRequest, public_id: UUID, image_id: int) -> ReferenceImage:
    return get_object_or_404(
        ReferenceImage.objects.select_related("character"),
        pk=image_id,
        character__public_id=public_id,
        character__owner=request.user,
    )


@login_required
def character_list(request: AuthenticatedRequest) -> HttpResponse:
    """The signed-in user's characters, newest first."""
    characters = Character.objects.filter(owner=request.user).prefetch_related("images")
    return render(request, "characters/list.html", {"characters": characters})


@login_required
def character_create(request: AuthenticatedRequest) -> HttpResponse:
    """GET: the form. POST: ``create_character`` with one to ``MAX_REFERENCE_IMAGES`` photos; the
    character's page, or the form again (400) with what was wrong (nothing saved)."""
    form = CharacterForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            character = services.create_character(
                owner=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                uploads=form.cleaned_data["images"],
            )
        except services.CharacterError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"“{character.name}” is ready to dream.")
            return redirect("characters:detail", public_id=character.public_id)
    return render(request, "characters/form.html", {"form": form}, status=form_status(form))


def _detail_page(
    request: AuthenticatedRequest,
    character: Character,
    *,
    details_form: CharacterDetailsForm | None = None,
    add_form: AddImagesForm | None = None,
) -> HttpResponse:
    if details_form is None:
        details_form = CharacterDetailsForm(instance=character, prefix="details")
    if add_form is None:
        add_form = AddImagesForm(prefix="add")
    return render(
        request,
        "characters/detail.html",
        {
            "character": character,
            "details_form": details_form,
            "add_form": add_form,
            "sheet_writer": sheet_writer(),
        },  # fmt: skip
        status=max(form_status(details_form), form_status(add_form)),
    )


@login_required
def character_detail(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """A character's page; POST renames or redescribes it (``update_character``). 404 for another
    user's."""
    character = _owned_character(request, public_id)
    if request.method != "POST":
        return _detail_page(request, character)
    # Bound without the instance, so a refused edit leaves the page showing the saved values.
    details_form = CharacterDetailsForm(request.POST, prefix="details")
    if details_form.is_valid():
        try:
            services.update_character(
                character=character,
                name=details_form.cleaned_data["name"],
                description=details_form.cleaned_data["description"],
                appearance=details_form.cleaned_data["appearance"],
                personality=details_form.cleaned_data["personality"],
            )
        except services.CharacterError as error:
            details_form.add_error(None, error.message)
            character.refresh_from_db()
        else:
            messages.success(request, "Saved.")
            return redirect("characters:detail", public_id=public_id)
    return _detail_page(request, character, details_form=details_form)


@login_required
@require_POST
def character_describe(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """POST: ``describe_from_photos``; the page says what the model wrote, or why not."""
    character = _owned_character(request, public_id)
    try:
        described = describe_from_photos(character=character)
    except services.CharacterError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"The sheet was written from the photos (${described.cost_usd:.4f}); "
            "edit it below if anything is wrong.",
        )
    return redirect("characters:detail", public_id=public_id)


@login_required
@require_POST
def image_add(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """POST: add photos (``add_reference_images``); the page again (400) with what was wrong,
    nothing saved."""
    character = _owned_character(request, public_id)
    add_form = AddImagesForm(request.POST, request.FILES, prefix="add")
    if add_form.is_valid():
        try:
            added = services.add_reference_images(
                character=character, uploads=add_form.cleaned_data["images"]
            )
        except services.CharacterError as error:
            add_form.add_error(None, error.message)
        else:
            messages.success(request, f"Added {len(added)} photo(s).")
            return redirect("characters:detail", public_id=public_id)
    return _detail_page(request, character, add_form=add_form)


@login_required
@require_POST
def image_remove(request: AuthenticatedRequest, public_id: UUID, image_id: int) -> HttpResponse:
    """POST: remove one photo (``remove_reference_image``; a character keeps at least one)."""
    image = _owned_image(request, public_id, image_id)
    try:
        services.remove_reference_image(image=image)
    except services.CharacterError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Photo removed.")
    return redirect("characters:detail", public_id=public_id)


@login_required
@require_POST
def image_move(request: AuthenticatedRequest, public_id: UUID, image_id: int) -> HttpResponse:
    """POST: move a photo one place up or down (``direction``=up|down)."""
    image = _owned_image(request, public_id, image_id)
    offset = -1 if request.POST.get("direction") == "up" else 1
    services.move_reference_image(image=image, offset=offset)
    return redirect("characters:detail", public_id=public_id)


@login_required
def character_delete(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """GET: confirm. POST: ``delete_character`` (its photos too), then the list."""
    character = _owned_character(request, public_id)
    if request.method == "POST":
        services.delete_character(character=character)
        messages.success(request, f"“{character.name}” was deleted.")
        return redirect("characters:list")
    return render(request, "characters/delete.html", {"character": character})


@login_required
def image_file(
    request: AuthenticatedRequest, public_id: UUID, image_id: int, variant: str
) -> HttpResponseBase:
    """A reference photo or its thumbnail to its owner, through ``lib.files.file_response``; 404 for
    anyone else."""
    if variant not in ("thumb", "full"):
        raise Http404("No such file.")
    image = _owned_image(request, public_id, image_id)
    return file_response(request, image.thumbnail if variant == "thumb" else image.image)
