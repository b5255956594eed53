"""Compression: br and gzip as Accept-Encoding asks, Vary, and ETags that stay correct."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from typing import Any

import brotli
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from gateway.http import etags
from gateway.http.compression import choose
from gateway.http.pipeline import Pipeline
from gateway.settings import PROJECT_ROOT, Settings
from gateway.tokens import TokenIssuer
from tests.conftest import TEST_JWT_SECRET, app_client, run_sql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def shop(database_url: str) -> str:
    run_sql(
        database_url,
        """
        INSERT INTO categories (slug, name) VALUES ('home', 'Home');
        INSERT INTO products (sku, name, description, price, stock, category_id)
        SELECT 'Z-' || n, 'Product ' || n, repeat('A fine product. ', 80), n, 50, 1
        FROM generate_series(1, 30) n;
        INSERT INTO users (email, display_name, password_hash, role)
        VALUES ('admin@example.com', 'Admin', '!', 'admin');
        """,
    )
    return database_url


@pytest.fixture
async def api(shop: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings) as http:
        yield http


def admin() -> dict[str, str]:
    defaults = Settings()
    issuer = TokenIssuer(
        TEST_JWT_SECRET,
        issuer=defaults.jwt_issuer,
        audience=defaults.jwt_audience,
        ttl=defaults.access_token_ttl,
    )
    return {"Authorization": f"Bearer {issuer.issue(1, 'admin')}"}


async def raw_get(
    api: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent, before httpx decodes it."""
    async with api.stream("GET", url, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


def vary(response: httpx.Response) -> set[str]:
    return {
        item.strip().lower()
        for value in response.headers.get_list("vary")
        for item in value.split(",")
    }


def decode(coding: str, body: bytes) -> bytes:
    return brotli.decompress(body) if coding == "br" else gzip.decompress(body)


LIST = "/api/v1/products?limit=20"


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip", "gzip"),
        ("br", "br"),
        ("gzip, deflate, br", "br"),
        ("gzip;q=1.0, br;q=0.5", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("*", "br"),
        ("x-gzip", "gzip"),
    ],
)
async def test_large_bodies_are_compressed_as_asked(
    api: httpx.AsyncClient, accept: str, coding: str
) -> None:
    identity, plain = await raw_get(api, LIST, {"Accept-Encoding": "identity"})
    assert len(plain) > 1024
    response, body = await raw_get(api, LIST, {"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == coding
    assert int(response.headers["content-length"]) == len(body) < len(plain) // 2
    assert decode(coding, body) == plain
    assert "accept-encoding" in vary(response)
    # Its own strong tag: the identity tag with the coding inside the quotes.
    assert response.headers["etag"] == etags.encoded(identity.headers["etag"], coding)
    assert response.headers["etag"] == f'{etags.of(plain)[:-1]}-{coding}"'


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "br;q=0, gzip;q=0", "*;q=0", ""])
async def test_refused_codings_are_never_used(api: httpx.AsyncClient, accept: str) -> None:
    response, body = await raw_get(api, LIST, {"Accept-Encoding": accept})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.headers["etag"] == etags.of(body)
    # Still a representation that varies: a cache must not give it to a gzip client.
    assert "accept-encoding" in vary(response)


async def test_small_bodies_stay_as_they_are(api: httpx.AsyncClient) -> None:
    response, body = await raw_get(api, "/api/v1/products/1?fields=name", {"Accept-Encoding": "br"})
    assert len(body) < 1024
    assert "content-encoding" not in response.headers
    assert response.headers["etag"] == etags.of(body)


async def test_if_none_match_on_either_form_gives_304(api: httpx.AsyncClient) -> None:
    identity = (await raw_get(api, LIST, {"Accept-Encoding": "identity"}))[0].headers["etag"]
    gzipped = (await raw_get(api, LIST, {"Accept-Encoding": "gzip"}))[0].headers["etag"]
    assert gzipped != identity
    for accept in ("gzip", "br", "identity"):
        for held in (gzipped, identity, f"W/{gzipped}", f'"other", {gzipped}'):
            response, body = await raw_get(
                api, LIST, {"Accept-Encoding": accept, "If-None-Match": held}
            )
            assert response.status_code == 304, (accept, held)
            assert body == b""
            assert "content-encoding" not in response.headers
            assert "accept-encoding" in vary(response)
            # The validator the client holds comes back, so its cache can refresh that entry.
            assert response.headers["etag"] in held, (accept, held)
    stale, _ = await raw_get(api, LIST, {"Accept-Encoding": "gzip", "If-None-Match": '"x-gzip"'})
    assert stale.status_code == 200


async def test_if_match_takes_the_tag_a_compressed_get_gave(
    api: httpx.AsyncClient, shop: str
) -> None:
    product = "/api/v1/products/5"
    first, _ = await raw_get(api, product, {"Accept-Encoding": "br"})
    assert first.headers["content-encoding"] == "br"
    tag = first.headers["etag"]
    assert tag.endswith('-br"')
    changed = await api.patch(product, json={"stock": 7}, headers={**admin(), "If-Match": tag})
    assert changed.status_code == 200
    again = await api.patch(product, json={"stock": 8}, headers={**admin(), "If-Match": tag})
    assert again.status_code == 412
    assert (await api.get(product)).json()["data"]["stock"] == 7


async def test_no_content_and_not_modified_answers_are_not_compressed(
    api: httpx.AsyncClient,
) -> None:
    deleted = await api.delete(
        "/api/v1/products/30", headers={**admin(), "Accept-Encoding": "gzip"}
    )
    assert deleted.status_code == 204
    assert "content-encoding" not in deleted.headers
    assert deleted.content == b""


async def test_problems_and_graphql_answers_are_compressed_too(api: httpx.AsyncClient) -> None:
    query = "{ products(first: 20) { edges { node { id name description price } } } }"
    response = await api.post(
        "/graphql", json={"query": query}, headers={"Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()["data"]["products"]["edges"]) == 20
    problem = await api.post(
        "/api/v1/products",
        json={f"unknown_field_{n}": n for n in range(40)},
        headers={**admin(), "Accept-Encoding": "gzip"},
    )
    assert problem.status_code == 400
    assert problem.headers["content-type"] == "application/problem+json"
    assert problem.headers["content-encoding"] == "gzip"
    assert problem.json()["code"] == "VALIDATION_FAILED"


async def test_static_files_are_compressed_while_streamed(api: httpx.AsyncClient) -> None:
    url = "/docs/assets/swagger-ui-bundle.js"
    _, identity_body = await raw_get(api, url, {"Accept-Encoding": "identity"})
    response, body = await raw_get(api, url, {"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "br"
    assert decode("br", body) == identity_body
    assert len(body) < len(identity_body) // 3
    assert "accept-ranges" not in response.headers
    image, _ = await raw_get(api, "/docs/assets/favicon-32x32.png", {"Accept-Encoding": "br"})
    assert "content-encoding" not in image.headers


# The pipeline on answers the gateway's own routes do not make -----------------------------


def _app(response: Response) -> Pipeline:
    async def endpoint(request: Request) -> Response:
        return response

    routes = [Route("/", endpoint)]
    return Pipeline(
        Starlette(routes=routes), settings=Settings(compression_min_bytes=1024), routes=routes
    )


async def _call(app: Any, accept: str = "gzip, br") -> tuple[httpx.Response, bytes]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await raw_get(http, "/", {"Accept-Encoding": accept})


async def test_event_streams_and_encoded_bodies_pass_untouched() -> None:
    async def events() -> AsyncIterator[bytes]:
        for n in range(3):
            yield f"data: {'x' * 600} {n}\n\n".encode()

    stream, body = await _call(_app(StreamingResponse(events(), media_type="text/event-stream")))
    assert "content-encoding" not in stream.headers
    assert body.count(b"data: ") == 3
    encoded = gzip.compress(b"y" * 5000)
    already, body = await _call(
        _app(Response(encoded, media_type="application/json", headers={"Content-Encoding": "gzip"}))
    )
    assert already.headers["content-encoding"] == "gzip"
    assert body == encoded


async def test_streamed_bodies_are_compressed_chunk_by_chunk() -> None:
    chunks = [b'{"n": "' + b"z" * 700, b"z" * 700, b'"}']

    async def parts() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    response, body = await _call(_app(StreamingResponse(parts(), media_type="application/json")))
    assert response.headers["content-encoding"] == "br"
    assert "content-length" not in response.headers
    assert brotli.decompress(body) == b"".join(chunks)


def test_accept_encoding_is_read_as_rfc_9110_says() -> None:
    assert choose(None) is None
    assert choose("gzip;q=0.001") == "gzip"
    assert choose("gzip; q=0.5, br; q=0.4") == "gzip"
    assert choose("br;q=0.5, identity") is None
    assert choose("br;q=nonsense, gzip") == "gzip"
    assert choose("deflate, compress") is None
    assert choose("*;q=0.5, br;q=0") == "gzip"


def test_the_shipped_nginx_compresses_json_answers() -> None:
    lines = (PROJECT_ROOT / "deploy/nginx/nginx.conf").read_text().splitlines()
    text = " ".join(line.split("#", 1)[0] for line in lines)
    statements = text.replace("{", ";").replace("}", ";").split(";")
    directives = {words[0]: words[1:] for words in map(str.split, statements) if words}
    assert directives["gzip"] == ["on"]
    assert directives["gzip_vary"] == ["on"]
    types = set(directives["gzip_types"])
    assert {
        "application/json",
        "application/problem+json",
        "application/graphql-response+json",
    } <= types


def test_settings_read_the_threshold() -> None:
    assert Settings.from_env({}).compression_min_bytes == 1024
    assert Settings.from_env({"COMPRESSION_MIN_BYTES": "4096"}).compression_min_bytes == 4096
