"""Static files: versioned URLs cached for a year, compressed CSS, JS and HTML (Lighthouse found ~295 KiB to save per
page and every static file served no-cache)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import pytest

STATIC = Path(__file__).resolve().parent.parent / "saas" / "static"
ASSET = re.compile(r"""<(?:link|script)\b[^>]*\b(?:href|src)="(/static/[^"]+)\"""")


def _assets(html: str) -> list[str]:
    return [url.replace("&amp;", "&") for url in ASSET.findall(html)]


def _file(url: str) -> bytes:
    return (STATIC / url.split("?")[0].removeprefix("/static/")).read_bytes()


@pytest.mark.parametrize("path", ["/", "/login", "/signup"])
def test_every_stylesheet_and_script_url_carries_the_files_version(client, path):
    from saas.static_files import asset_version

    urls = _assets(client.get(path).get_data(as_text=True))
    assert any(u.endswith(".css") or ".css?" in u for u in urls) and any(".js?" in u for u in urls), urls
    for url in urls:
        name, _, query = url.removeprefix("/static/").partition("?")
        assert re.fullmatch(r"v=[0-9a-f]{12}", query), url
        assert query == f"v={asset_version(str(STATIC), name)}"


def test_a_versioned_file_is_cached_for_a_year_and_anything_else_revalidates(client):
    url = next(u for u in _assets(client.get("/login").get_data(as_text=True)) if "app.css" in u)
    response = client.get(url)
    assert response.status_code == 200
    assert response.cache_control.public and response.cache_control.immutable
    assert response.cache_control.max_age == 31536000
    # No version, or an old one: the content may differ from what the URL named, so the browser asks each time.
    for stale in (url.split("?")[0], url.split("?")[0] + "?v=0123456789ab"):
        response = client.get(stale)
        assert response.status_code == 200
        assert response.cache_control.max_age is None and response.cache_control.no_cache
        assert not response.cache_control.immutable


def test_a_pages_assets_have_long_cache_headers(client):
    for url in _assets(client.get("/").get_data(as_text=True)):
        assert client.get(url).cache_control.max_age == 31536000, url


@pytest.mark.parametrize("kind", ["css", "js"])
def test_css_and_js_are_sent_gzipped_to_a_client_that_accepts_it(client, kind):
    url = next(u for u in _assets(client.get("/").get_data(as_text=True)) if f".{kind}?" in u)
    response = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.get_data()
    assert gzip.decompress(body) == _file(url)
    assert len(body) < len(_file(url)) / 2
    assert int(response.headers["Content-Length"]) == len(body)
    assert response.cache_control.max_age == 31536000  # compression keeps the caching
    # Served twice (the second from the compressed-body cache): the same bytes.
    assert client.get(url, headers={"Accept-Encoding": "gzip"}).get_data() == body


def test_brotli_is_preferred_when_offered(client):
    url = next(u for u in _assets(client.get("/").get_data(as_text=True)) if "bootstrap.min.css" in u)
    response = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.get_data()) == _file(url)


def test_pages_are_sent_gzipped(client):
    plain = client.get("/")
    response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.mimetype == "text/html"
    html = gzip.decompress(response.get_data()).decode()
    assert "<html" in html and len(response.get_data()) < len(plain.get_data()) / 2


def test_without_accept_encoding_nothing_is_compressed(client):
    url = _assets(client.get("/").get_data(as_text=True))[0]
    response = client.get(url)
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == _file(url)


def test_a_compressed_file_answers_its_etag_with_304(client):
    url = next(u for u in _assets(client.get("/").get_data(as_text=True)) if ".js?" in u)
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    etag = first.headers["ETag"]
    again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and not again.get_data()


def test_a_range_request_for_a_compressible_file_gets_the_whole_file(client):
    url = next(u for u in _assets(client.get("/").get_data(as_text=True)) if ".css?" in u)
    response = client.get(url, headers={"Accept-Encoding": "gzip", "Range": "bytes=0-99"})
    assert response.status_code == 200
    assert gzip.decompress(response.get_data()) == _file(url)


def test_the_version_follows_the_content(tmp_path):
    import os

    from saas.static_files import asset_version

    asset = tmp_path / "a.css"
    asset.write_text("body { color: #000 }")
    first = asset_version(str(tmp_path), "a.css")
    assert first == asset_version(str(tmp_path), "a.css")
    asset.write_text("body { color: #111 }")
    os.utime(asset, ns=(1, 1))  # a different mtime even on a coarse clock
    assert asset_version(str(tmp_path), "a.css") != first
    assert asset_version(str(tmp_path), "missing.css") is None
    assert asset_version(str(tmp_path), "../etc/passwd") is None
