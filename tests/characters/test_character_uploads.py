"""Uploading reference photos through the portal: what is accepted, what is refused and why,
and that a refused upload leaves no row and no file behind."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from characters.models import Character, ReferenceImage
from tests.support import (
    bytes_upload,
    photo_path,
    photo_upload,
    png_bytes,
    stored_bytes,
    stored_files,
)

pytestmark = pytest.mark.django_db


def post_character(client, *files, name="Eileen"):
    return client.post(
        reverse("characters:create"),
        {"name": name, "description": "", "images": list(files)},
    )


def assert_refused(response, media_root, message: str) -> None:
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Character.objects.count() == 0
    assert ReferenceImage.objects.count() == 0
    assert stored_files() == []


def test_two_real_photos_make_a_character(alice_client, user, media_root):
    response = post_character(
        alice_client, photo_upload("astronaut.png"), photo_upload("rocket.jpg")
    )
    character = Character.objects.get(owner=user)
    assert response.status_code == 302
    assert response["Location"] == reverse("characters:detail", args=[character.public_id])
    images = character.ordered_images()
    assert [image.original_name for image in images] == ["astronaut.png", "rocket.jpg"]
    assert [(image.width, image.height) for image in images] == [(512, 512), (640, 427)]
    for image in images:
        with Image.open(io.BytesIO(stored_bytes(image.image))) as stored:
            assert stored.format == "JPEG" and stored.mode == "RGB"
        with Image.open(io.BytesIO(stored_bytes(image.thumbnail))) as thumb:
            assert max(thumb.size) == 320
    # Two images, two thumbnails, nothing else.
    assert len(stored_files()) == 4


def test_text_file_renamed_png_is_refused(alice_client, media_root):
    upload = bytes_upload("holiday.png", b"Dear diary, today I renamed a text file.\n" * 20)
    assert_refused(
        post_character(alice_client, upload), media_root, "is not a JPEG, PNG or WebP image"
    )


def test_truncated_jpeg_is_refused(alice_client, media_root):
    data = photo_path("rocket.jpg").read_bytes()
    upload = bytes_upload("rocket.jpg", data[: len(data) // 2], "image/jpeg")
    assert_refused(post_character(alice_client, upload), media_root, "is damaged or incomplete")


def test_decompression_bomb_png_is_refused_before_decoding(alice_client, media_root):
    # 20000×20000 one-bit pixels compress to a few kilobytes; decoded they would be 1.2 GB.
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, "PNG", optimize=True)
    upload = bytes_upload("huge.png", buffer.getvalue())
    assert upload.size < 1_000_000
    assert_refused(post_character(alice_client, upload), media_root, "too many pixels")


def test_image_over_40_megapixels_but_under_pillows_limit_is_refused(alice_client, media_root):
    buffer = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buffer, "PNG", optimize=True)
    upload = bytes_upload("big.png", buffer.getvalue())
    assert_refused(
        post_character(alice_client, upload), media_root, "8000×6000 pixels (48 megapixels)"
    )


def test_empty_file_is_refused(alice_client, media_root):
    # The browser sends a named but empty file; Django's own check speaks first.
    response = post_character(alice_client, bytes_upload("empty.png", b""))
    assert_refused(response, media_root, "The submitted file is empty.")


def test_empty_file_is_refused_by_the_service_too(user, media_root):
    from characters.services import CharacterError, create_character

    with pytest.raises(CharacterError, match="is empty"):
        create_character(
            owner=user, name="X", description="", uploads=[bytes_upload("empty.png", b"")]
        )
    assert Character.objects.count() == 0


def test_animated_gif_is_refused(alice_client, media_root):
    frames = [Image.new("RGB", (64, 64), color) for color in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    upload = bytes_upload("dance.gif", buffer.getvalue(), "image/gif")
    assert_refused(
        post_character(alice_client, upload), media_root, "is not a JPEG, PNG or WebP image"
    )


def test_animated_webp_is_refused(alice_client, media_root):
    frames = [Image.open(photo_path("chelsea.png")).convert("RGB"), Image.new("RGB", (451, 300))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    upload = bytes_upload("cat.webp", buffer.getvalue(), "image/webp")
    assert_refused(post_character(alice_client, upload), media_root, "is animated")


def test_eleven_megabyte_file_is_refused(alice_client, media_root):
    data = photo_path("coffee.png").read_bytes()
    padded = data + b"\0" * (11 * 1024 * 1024 - len(data))
    assert_refused(
        post_character(alice_client, bytes_upload("coffee.png", padded)),
        media_root,
        "is 11.0 MB; the limit is 10.0 MB",
    )


def test_four_photos_at_once_are_refused(alice_client, media_root):
    uploads = [photo_upload(name) for name in ("astronaut.png", "chelsea.png", "coffee.png")]
    uploads.append(photo_upload("rocket.jpg"))
    assert_refused(
        post_character(alice_client, *uploads),
        media_root,
        "Upload between 1 and 3 reference images; you chose 4.",
    )


def test_one_bad_file_among_good_ones_saves_nothing(alice_client, media_root):
    response = post_character(
        alice_client, photo_upload("astronaut.png"), bytes_upload("notes.png", b"plain text")
    )
    assert_refused(response, media_root, "“notes.png” is not a JPEG, PNG or WebP image")


def test_exif_orientation_is_applied_and_gps_is_stripped(alice_client, user):
    photo = Image.open(photo_path("rocket.jpg"))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display.
    exif[0x010F] = "SnoopCam"  # Make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", exif=exif, quality=95)
    response = post_character(alice_client, bytes_upload("sideways.jpg", buffer.getvalue()))
    assert response.status_code == 302
    image = ReferenceImage.objects.get(character__owner=user)
    # 640×427 stored sideways is shown (and now stored) 427×640.
    assert (image.width, image.height) == (427, 640)
    raw = stored_bytes(image.image)
    with Image.open(io.BytesIO(raw)) as stored:
        assert stored.size == (427, 640)
        assert not stored.getexif()
        assert "icc_profile" not in stored.info
    assert b"SnoopCam" not in raw and b"Exif" not in raw


def test_transparency_is_flattened_onto_white(alice_client, user):
    rgba = Image.open(photo_path("chelsea.png")).convert("RGBA")
    rgba.putalpha(0)  # wholly transparent: the stored image must be white, not black
    response = post_character(alice_client, bytes_upload("ghost.png", png_bytes(rgba)))
    assert response.status_code == 302
    stored = Image.open(
        io.BytesIO(stored_bytes(ReferenceImage.objects.get(character__owner=user).image))
    )
    assert stored.mode == "RGB"
    assert stored.getpixel((10, 10)) >= (250, 250, 250)


def test_sixteen_bit_greyscale_png_becomes_8_bit_rgb(alice_client, user):
    grey = Image.open(photo_path("coffee.png")).convert("L")
    deep = grey.convert("I").point(lambda value: value * 256).convert("I;16")
    assert Image.open(io.BytesIO(png_bytes(deep))).mode.startswith("I")
    response = post_character(alice_client, bytes_upload("deep.png", png_bytes(deep)))
    assert response.status_code == 302
    stored = Image.open(
        io.BytesIO(stored_bytes(ReferenceImage.objects.get(character__owner=user).image))
    )
    assert stored.mode == "RGB"
    # The picture survives the conversion (not clipped to white).
    assert abs(stored.getpixel((300, 200))[0] - grey.getpixel((300, 200))) <= 4


def test_webp_photo_is_accepted(alice_client, user):
    buffer = io.BytesIO()
    Image.open(photo_path("coffee.png")).save(buffer, "WEBP", quality=90)
    response = post_character(alice_client, bytes_upload("coffee.webp", buffer.getvalue()))
    assert response.status_code == 302
    assert ReferenceImage.objects.filter(character__owner=user).count() == 1
