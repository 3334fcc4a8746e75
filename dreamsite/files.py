"""Serving stored media to the one user allowed to see it.

Media never has a public URL: each view finds the object through its owner first and only then
streams the file through Django's storage API, so the same code serves local disk and S3.
"""

import mimetypes

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404


def file_response(field_file: FieldFile, *, download_name: str | None = None) -> FileResponse:
    """Stream ``field_file`` privately. Raises ``Http404`` when it is unset or missing.

    With ``download_name`` the browser saves the file under that name instead of showing it.
    """
    if not field_file:
        raise Http404("No such file.")
    try:
        stream = field_file.storage.open(field_file.name, "rb")
    except FileNotFoundError:
        raise Http404("No such file.") from None
    content_type = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    response = FileResponse(
        stream,
        content_type=content_type,
        as_attachment=download_name is not None,
        filename=download_name or "",
    )
    # Private to this signed-in user: no shared cache may keep a copy.
    response["Cache-Control"] = "private, max-age=3600"
    return response
