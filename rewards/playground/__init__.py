"""The playground: a page at `/` to try graders by hand and watch the per-grader counters of `/metrics`.

Plain HTML, CSS and JS shipped in this package (no build step, nothing from a CDN, so it works offline).
The page holds no data: everything it shows comes from the API through `fetch`, with the bearer token the
user types in when the service has an API key. So the page's own files are served without a key (a
browser's navigation cannot send an Authorization header), and without the key the page shows nothing but
a prompt for it. Model output is put on the page as text only, and the Content-Security-Policy allows no
script but the page's own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files

from fastapi import APIRouter, Response

_ASSETS = {  # URL path -> (file in this package, media type)
    "/": ("index.html", "text/html; charset=utf-8"),
    "/playground/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/playground/style.css": ("style.css", "text/css; charset=utf-8"),
}
PATHS = frozenset(_ASSETS)  # open without the API key: the page's own files, which hold no data
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _handler(name: str, media_type: str) -> Callable[[], Awaitable[Response]]:
    """A GET handler answering with one of the package's files, read once (it ships with the package)."""
    body = files(__name__).joinpath(name).read_bytes()

    async def serve() -> Response:
        return Response(body, media_type=media_type, headers=_HEADERS)

    return serve


router = APIRouter(include_in_schema=False)
for _path, (_name, _media) in _ASSETS.items():
    router.add_api_route(_path, _handler(_name, _media), methods=["GET"])
