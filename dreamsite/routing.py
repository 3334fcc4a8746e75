"""The ASGI application: pages over HTTP, live progress over websockets. No side effects on
import, so tests can drive the very stack the server runs."""

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from dreamsite.origins import SameOriginValidator  # noqa: E402
from jobs.routing import websocket_urlpatterns  # noqa: E402  (needs the app registry)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # This site's own pages only (scheme, host and port), and only signed-in sessions
        # get further.
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
