"""gateway/cache/batching.py: one pipeline per loop turn, a reply or an error per caller,
and Lua scripts loaded on first use."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError

from gateway.cache.batching import MAX_BATCH, Batcher, Script
from tests.processes import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


def key() -> str:
    return f"gwtest:{uuid.uuid4().hex}"


async def test_one_turns_commands_travel_as_one_pipeline_in_order(client: redis.Redis) -> None:
    batcher = Batcher(client, timeout=2.0)
    k = key()
    replies = await asyncio.gather(
        batcher.submit("SET", k, "1"),
        batcher.submit("INCR", k),
        batcher.submit("INCR", k),
        batcher.submit("GET", k),
        batcher.submit("DEL", k),
    )
    assert list(replies) == [True, 2, 3, b"3", 1]
    assert (batcher.batches, batcher.commands) == (1, 5)
    # The next turn is the next batch; one caller alone is a batch of one.
    assert await batcher.submit("EXISTS", k) == 0
    assert (batcher.batches, batcher.commands) == (2, 6)


async def test_a_longer_queue_goes_as_several_pipelines(client: redis.Redis) -> None:
    batcher = Batcher(client, timeout=5.0)
    k = key()
    replies = await asyncio.gather(*(batcher.submit("INCR", k) for _ in range(MAX_BATCH + 1)))
    assert sorted(replies) == list(range(1, MAX_BATCH + 2))
    assert (batcher.batches, batcher.commands) == (2, MAX_BATCH + 1)
    await client.delete(k)


async def test_an_error_reply_is_its_callers_alone(client: redis.Redis) -> None:
    batcher = Batcher(client, timeout=2.0)
    k = key()
    await client.set(k, "text")
    results = await asyncio.gather(
        batcher.submit("INCR", k), batcher.submit("GET", k), return_exceptions=True
    )
    assert isinstance(results[0], ResponseError) and "not an integer" in str(results[0])
    assert results[1] == b"text"
    await client.delete(k)


async def test_an_unreachable_server_fails_every_caller_with_an_error_of_its_own() -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=free_port(), retry=Retry(NoBackoff(), 0))
    batcher = Batcher(unreachable, timeout=2.0)
    try:
        results = await asyncio.gather(
            *(batcher.submit("GET", "k") for _ in range(3)), return_exceptions=True
        )
    finally:
        await unreachable.aclose()
    assert all(isinstance(r, redis.ConnectionError) for r in results), results
    # One exception object each, so no caller's traceback collects the others'.
    assert len({id(r) for r in results}) == 3


async def test_a_server_that_never_answers_times_the_batch_out() -> None:
    hung_up = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.read(1 << 16):  # take the commands, answer nothing
                pass
        finally:
            writer.close()
            hung_up.set()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    mute = redis.Redis(host="127.0.0.1", port=port)
    batcher = Batcher(mute, timeout=0.1)
    try:
        results = await asyncio.gather(
            batcher.submit("GET", "a"), batcher.submit("GET", "b"), return_exceptions=True
        )
    finally:
        await mute.aclose()
        server.close()
        async with asyncio.timeout(5):
            await hung_up.wait()
    assert [type(r) for r in results] == [TimeoutError, TimeoutError]


async def test_a_caller_that_gives_up_leaves_the_others_their_replies(
    client: redis.Redis,
) -> None:
    batcher = Batcher(client, timeout=2.0)
    k = key()
    await client.set(k, "v")
    abandoned = batcher.submit("GET", k)
    kept = batcher.submit("GET", k)
    abandoned.cancel()
    assert await kept == b"v"
    await batcher.close()
    assert abandoned.cancelled()
    await client.delete(k)


async def test_a_script_is_loaded_once_for_a_burst_of_first_callers(
    client: redis.Redis,
) -> None:
    batcher = Batcher(client, timeout=2.0)
    # A text of its own, so Redis surely does not know it yet.
    script = Script(batcher, f"return ARGV[1] .. KEYS[1] -- {uuid.uuid4().hex}")
    replies = await asyncio.gather(*(script(["k"], [str(n)]) for n in range(5)))
    assert replies == [f"{n}k".encode() for n in range(5)]
    # Five EVALSHA met NOSCRIPT, one SCRIPT LOAD, five EVALSHA again.
    assert batcher.commands == 11
    assert await script(["k"], ["x"]) == b"xk"
    assert batcher.commands == 12
