"""The recorder: what it sends (token, request id, seal, body), what it records per call
(path, status, label, bytes, SQL, cache, needed bytes), when a call counts as failed, and
the client's HTTP cache across visits. Against the real app over httpx's ASGI transport."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from gateway.compare.recorder import CallFailed, HttpCache, Recorder
from gateway.settings import Settings
from tests.conftest import Actors, app_client, run_sql

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def tagged(database_url: str) -> str:
    run_sql(database_url, "INSERT INTO tags (name) VALUES ('red'), ('blue')")
    return database_url


@pytest.fixture
async def http(tagged: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings) as client:
        yield client


def capture(http: httpx.AsyncClient) -> list[httpx.Request]:
    """The requests `http` sends from now on, as they went out."""
    sent: list[httpx.Request] = []

    async def keep(request: httpx.Request) -> None:
        sent.append(request)

    http.event_hooks = {"request": [keep], "response": []}
    return sent


async def test_a_get_is_recorded_with_what_it_cost(http: httpx.AsyncClient, actors: Actors) -> None:
    sent = capture(http)
    ids = (f"r-{n}" for n in itertools.count(1))
    token = (await actors.customer()).token
    # A seal the app did not sign is sent all the same (and ignored by the app).
    recorder = Recorder(
        http, needs={"tag": frozenset({"name"})}, request_ids=ids, seal="warm|1|x", token=token
    )
    answer = await recorder.get("/tags", {"limit": 5})
    assert sorted(t["name"] for t in answer["data"]) == ["blue", "red"]
    (request,) = sent
    assert request.headers["authorization"] == f"Bearer {token}"
    assert request.headers["x-request-id"] == "r-1"
    assert request.headers["x-gateway-compare"] == "warm|1|x"
    (call,) = recorder.calls
    assert (call.method, call.path, call.status, call.label) == (
        "GET",
        "/api/v1/tags?limit=5",
        200,
        "",
    )
    assert call.request_id == "r-1" and call.statements is None
    response_body = orjson.dumps(answer)
    assert call.json_bytes == len(response_body)
    # Only the names were needed, inside REST's `data` envelope.
    names = [{"name": t["name"]} for t in answer["data"]]
    assert call.needed_bytes == len(orjson.dumps({"data": names}))
    assert call.response_bytes > call.json_bytes and call.request_bytes > 0
    assert call.sql == 1 and call.cache == "none"  # the tests' app runs without a cache
    assert call.end_ms == call.start_ms + call.duration_ms


async def test_an_http_error_fails_the_call_but_is_still_recorded(http: httpx.AsyncClient) -> None:
    recorder = Recorder(http)
    with pytest.raises(CallFailed, match=r"^GET /api/v1/products/999999 answered 404: "):
        await recorder.get("/products/999999")
    (call,) = recorder.calls
    assert call.status == 404 and call.json_bytes > 0 and call.needed_bytes == 0
    with pytest.raises(CallFailed, match=r"^DELETE /api/v1/reviews/1 answered 401: "):
        await recorder.delete("/reviews/1")
    assert [c.method for c in recorder.calls] == ["GET", "DELETE"]


async def test_graphql_calls_are_labelled_by_operation_and_sent_by_either_method(
    http: httpx.AsyncClient,
) -> None:
    sent = capture(http)
    recorder = Recorder(http, needs={"tag": frozenset({"name"})})
    document = "query Tags($n: Int!) { tags(first: $n) { edges { node { id name } } } }"
    data = await recorder.graphql(document, {"n": 1})
    assert len(data["tags"]["edges"]) == 1
    again = await recorder.graphql(document, {"n": 1}, method="GET")
    assert again == data
    await recorder.graphql("{ tags(first: 1) { edges { node { name } } } }", {}, method="GET")
    post, get, anonymous = recorder.calls
    assert (post.method, post.path, post.label) == ("POST", "/graphql", "Tags")
    assert orjson.loads(sent[0].content) == {"query": document, "variables": {"n": 1}}
    assert get.method == "GET" and get.label == "Tags"
    assert dict(sent[1].url.params) == {"query": document, "variables": '{"n":1}'}
    # No variables: none in the URL either; an unnamed document is labelled "graphql".
    assert set(sent[2].url.params) == {"query"} and anonymous.label == "graphql"
    # The needed bytes drop the ids nobody shows.
    assert 0 < post.needed_bytes < post.json_bytes


async def test_graphql_errors_and_user_errors_fail_the_call(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    recorder = Recorder(http)
    with pytest.raises(CallFailed, match=r"^GraphQL errors \['UNAUTHENTICATED'\]: Sign in to do"):
        await recorder.graphql("query Me { me { id } }", {})
    # Refused whole (400): the message says why, from the answer's errors.
    refused = "^POST /graphql answered 400: Cannot query field 'nope' on type 'Query'.$"
    with pytest.raises(CallFailed, match=refused):
        await recorder.graphql("query Nope { nope }", {})
    customer = await actors.customer()
    signed_in = Recorder(http, token=customer.token)
    mutation = """mutation PlaceOrder($input: PlaceOrderInput!) {
      placeOrder(input: $input) { order { id } errors { code field message } }
    }"""
    items = {"items": [{"productId": "999999", "quantity": 1}]}
    with pytest.raises(CallFailed, match=r"^GraphQL user errors: \[\{'code': "):
        await signed_in.graphql(mutation, {"input": items})
    assert [c.status for c in recorder.calls + signed_in.calls] == [200, 400, 200]


async def test_a_posted_body_is_json_with_the_callers_headers(http: httpx.AsyncClient) -> None:
    sent = capture(http)
    recorder = Recorder(http)
    with pytest.raises(CallFailed, match=r"answered 401"):
        await recorder.post("/orders", {"items": []}, {"Idempotency-Key": "k-1"})
    (request,) = sent
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == "k-1"
    assert "authorization" not in request.headers and "x-request-id" not in request.headers
    assert orjson.loads(request.content) == {"items": []}


async def test_too_many_requests_says_how_to_get_under_the_limit(
    tagged: str, settings: Settings
) -> None:
    async with app_client(settings, rate_limit_per_minute=1) as limited:
        recorder = Recorder(limited)
        await recorder.get("/tags")
        with pytest.raises(CallFailed, match=r"answered 429: .*\(the target's rate limit: lower"):
            await recorder.get("/tags")


def test_the_http_cache_keeps_what_may_be_kept_for_as_long_as_it_is_fresh() -> None:
    cache = HttpCache()
    etag = {"ETag": '"v1"'}
    cache.keep("/a", httpx.Response(200, headers={"Cache-Control": "max-age=30", **etag}), 1)
    cache.keep("/b", httpx.Response(200, headers={"Cache-Control": "no-cache", **etag}), 2)
    cache.keep("/c", httpx.Response(200, headers={"Cache-Control": "no-store", **etag}), 3)
    cache.keep("/d", httpx.Response(200, headers={"Cache-Control": "max-age=30"}), 4)
    assert (cache.fresh("/a"), cache.fresh("/b"), cache.fresh("/c"), cache.fresh("/d")) == (
        1,
        None,
        None,
        None,
    )
    assert cache.etag("/b") == ('"v1"', 2)
    assert cache.etag("/c") is None and cache.etag("/d") is None
    cache.clock = 29.9
    assert cache.fresh("/a") == 1
    cache.clock = 30
    assert cache.fresh("/a") is None and cache.etag("/a") == ('"v1"', 1)


async def test_visits_reuse_fresh_answers_and_revalidate_stale_ones(
    http: httpx.AsyncClient,
) -> None:
    cache = HttpCache()
    recorder = Recorder(http, http_cache=cache, needs={"tag": frozenset({"name"})})
    first = await recorder.get("/tags")
    assert first["data"]
    cache.clock = 10
    assert await recorder.get("/tags") == first
    assert recorder.from_cache == 1 and len(recorder.calls) == 1
    sent = capture(http)
    cache.clock = 60
    assert await recorder.get("/tags") == first
    assert sent[0].headers["if-none-match"] == cache.etag("/api/v1/tags")[0]  # type: ignore[index]
    fetched, revalidated = recorder.calls
    assert fetched.status == 200 and fetched.json_bytes > 0
    # 304: nothing received, so nothing fetched for nothing.
    assert (revalidated.status, revalidated.json_bytes, revalidated.needed_bytes) == (304, 0, 0)
    assert revalidated.response_bytes < fetched.response_bytes
    # A POST never goes through the client's cache.
    await recorder.graphql("query T { tags(first: 1) { edges { node { name } } } }", {})
    assert recorder.from_cache == 1 and len(recorder.calls) == 3
