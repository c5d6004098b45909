"""Static files: versioned URLs cached for a year, and compressed responses.

Every ``url_for('static', filename=...)`` carries ``?v=<hash of the file's content>``. A request whose ``v`` is the
file's current hash gets ``Cache-Control: public, max-age=31536000, immutable``: a new file has a new URL, so a
browser never needs to ask again. Any other request (no ``v``, or an old one) keeps Flask's ``no-cache`` with its
ETag, so a stale page never pins new content under an old URL for a year.

Compression is Flask-Compress (zstd, brotli, gzip, deflate, as the client accepts) for HTML, CSS, JS, JSON and SVG.
Compressing HTML that holds the CSRF token next to reflected input is the BREACH pattern; it needs the victim's
cookies on many cross-site requests, which the SameSite=Lax session and remember cookies do not allow.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os

from flask import Flask, request
from flask_compress import Compress
from werkzeug.security import safe_join

ONE_YEAR = 365 * 24 * 3600
compress = Compress()
_versions: dict[str, tuple[int, int, str]] = {}  # path → (mtime_ns, size, hash)


def asset_version(folder: str, filename: str) -> str | None:
    """A short hash of the file's content (None if there is no such file); rehashed only when the file changes."""
    path = safe_join(folder, filename)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    cached = _versions.get(path)
    if cached and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return cached[2]
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    _versions[path] = (stat.st_mtime_ns, stat.st_size, digest)
    return digest


class _StaticCache:
    """Flask-Compress's cache of compressed bodies, kept for static files only (pages differ per request).

    Keys name the file's current content hash (see ``_cache_key``), so the cache holds at most one entry per
    file and algorithm, whatever ``?v=`` a client sends."""

    def __init__(self):
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        if ";public:" in key:  # a cached public page: its compressed bodies live with it (saas/public_cache.py)
            from saas.public_cache import compressed_get

            return compressed_get(key)
        return self.data.get(key)

    def set(self, key: str, value: bytes) -> None:
        if ";static:" in key:
            self.data[key] = value
        elif ";public:" in key:
            from saas.public_cache import compressed_set

            compressed_set(key, value)


def _cache_key(req) -> str:
    from flask import current_app

    if req.endpoint == "static" and req.view_args:
        filename = req.view_args.get("filename", "")
        return f"static:{filename}:{asset_version(current_app.static_folder, filename)}"
    from saas.public_cache import compress_key

    # A page from the public cache is compressed once per algorithm; any other page is never stored.
    return compress_key() or "page"


def register(app: Flask) -> None:
    """Call before other after_request hooks are registered: Flask runs them last-registered first, so
    compression, registered first, sees the final body and headers."""
    app.config.setdefault("COMPRESS_CACHE_BACKEND", _StaticCache)
    app.config.setdefault("COMPRESS_CACHE_KEY", _cache_key)
    compress.init_app(app)

    @app.url_defaults
    def _version_static_urls(endpoint, values):
        if endpoint == "static" and "v" not in values and "filename" in values:
            version = asset_version(app.static_folder, values["filename"])
            if version:
                values["v"] = version

    @app.before_request
    def _whole_files():
        # A byte range of a compressible file would be compressed on its own while Content-Range still counts
        # the stored bytes: serve these (small) files whole instead.
        if request.endpoint == "static" and "HTTP_RANGE" in request.environ:
            mimetype = mimetypes.guess_type(request.view_args.get("filename", ""))[0]
            if mimetype in compress.compress_mimetypes_set:
                del request.environ["HTTP_RANGE"]

    @app.after_request
    def _static_caching(response):
        if request.endpoint != "static" or not request.view_args:
            return response
        filename = request.view_args.get("filename", "")
        if response.status_code in (200, 304) and request.args.get("v") == asset_version(app.static_folder,
                                                                                         filename):
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = ONE_YEAR
            response.cache_control.immutable = True
        if response.status_code == 200 and response.mimetype in compress.compress_mimetypes_set:
            # send_file streams the file, and Flask-Compress compresses streams only with zstd/br/deflate, so a
            # gzip-only client (any browser over plain HTTP) would get it uncompressed. Static files are small:
            # read the file so it is compressed whole, with every algorithm, and cached (see _StaticCache).
            response.direct_passthrough = False
            response.set_data(response.get_data())
            response.headers.pop("Accept-Ranges", None)  # whole files only, see _whole_files
        return response
