"""WSGI entry point, for tools that need one; the portal itself is served over ASGI."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamsite.settings")
application = get_wsgi_application()
