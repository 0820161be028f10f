"""The PWA's static files at ``/`` with an ``index.html`` fallback for client-side routes.

``.webmanifest`` is served as ``application/manifest+json``; the service worker (``sw.js``
or ``service-worker.js`` at the root) gets ``Service-Worker-Allowed: /`` and ``no-cache`` so
that an update is picked up at once. Paths under ``/api/`` never fall back to the index.
"""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

TYPES = {".webmanifest": "application/manifest+json", ".js": "text/javascript",
         ".mjs": "text/javascript", ".json": "application/json", ".svg": "image/svg+xml",
         ".html": "text/html; charset=utf-8", ".css": "text/css", ".png": "image/png",
         ".ico": "image/x-icon", ".woff2": "font/woff2", ".txt": "text/plain"}
SERVICE_WORKERS = {"sw.js", "service-worker.js"}


def _resolve(root: Path, path: str) -> Path | None:
    root = root.resolve()
    candidate = (root / path.lstrip("/")).resolve()
    if not candidate.is_relative_to(root):
        return None
    if candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


def _read(root: Path, path: str) -> tuple[Path, bool, bytes] | None:
    """The file, whether it sits at the root, and its bytes (blocking: run in a thread)."""
    found = _resolve(root, path)
    if found is None and not path.startswith(("api/", "/api/")):
        found = _resolve(root, "index.html")  # client-side routes of the PWA
    if found is None:
        return None
    return found, found.parent == root.resolve(), found.read_bytes()


async def _serve(request: Request[Any, Any, Any], path: str) -> Response[bytes]:
    root = Path(request.app.state["backend"].settings.pwa_dir)
    result = await asyncio.to_thread(_read, root, path)
    if result is None:
        raise NotFoundException(f"no such file: /{path.lstrip('/')}")
    found, at_root, data = result
    media = TYPES.get(found.suffix.lower()) or mimetypes.guess_type(found.name)[0] or \
        "application/octet-stream"
    headers: dict[str, str] = {}  # the security headers: mobile_api.security_headers
    if found.name in SERVICE_WORKERS and at_root:
        headers |= {"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"}
    elif found.suffix == ".html":
        headers["Cache-Control"] = "no-cache"
    return Response(data, media_type=media, headers=headers)


@get("/", include_in_schema=False)
async def index(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await _serve(request, "index.html")


@get("/{path:path}", include_in_schema=False)
async def static(path: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
    return await _serve(request, path)


HANDLERS = [index, static]
