"""graphql/documents.py: each document judged once per schema and limits, the verdicts kept in a
bounded LRU; long documents judged every time."""

from __future__ import annotations

from graphql import GraphQLSchema

from gateway.graphql.documents import Documents, Verdict, VerdictCache
from gateway.graphql.errors import format_error
from gateway.graphql.protection import Limits
from gateway.graphql.schema import build_schema
from gateway.settings import PROJECT_ROOT

SCHEMA: GraphQLSchema = build_schema(PROJECT_ROOT / "schema.graphql")
GOOD = "{ products(first: 1) { totalCount } }"


def test_a_valid_document_is_parsed_once_and_then_served_from_the_cache() -> None:
    documents = Documents(SCHEMA, Limits())
    first = documents.verdict(GOOD)
    assert first.document is not None and first.errors == ()
    assert documents.verdict(GOOD) is first
    assert (documents.cache.hits, documents.cache.misses) == (1, 1)


def test_a_syntax_error_is_a_verdict_too() -> None:
    documents = Documents(SCHEMA, Limits())
    verdict = documents.verdict("{ products(")
    assert verdict.document is None
    assert [format_error(e)["extensions"]["code"] for e in verdict.errors] == [
        "GRAPHQL_PARSE_FAILED"
    ]
    assert documents.verdict("{ products(") is verdict


def test_validation_stops_past_the_errors_an_answer_may_show() -> None:
    documents = Documents(SCHEMA, Limits(max_errors=3))
    verdict = documents.verdict("{ " + " ".join(f"f{i}" for i in range(20)) + " }")
    assert verdict.document is None
    # graphql-core stops once it has found more than max_errors, and says so in the last.
    assert len(verdict.errors) == 4
    assert "Too many validation errors" in verdict.errors[-1].message


def test_static_limits_are_part_of_the_verdict() -> None:
    deep = "{ products(first: 1) { edges { node { category { parent { parent { id } } } } } } }"
    cache = VerdictCache()
    strict = Documents(SCHEMA, Limits(max_depth=3), cache=cache).verdict(deep)
    lenient = Documents(SCHEMA, Limits(max_depth=10), cache=cache).verdict(deep)
    assert [format_error(e)["extensions"]["code"] for e in strict.errors] == ["QUERY_TOO_DEEP"]
    assert lenient.document is not None
    assert len(cache) == 2  # one shared cache, a key per set of limits


def test_the_token_cap_refuses_before_validation() -> None:
    documents = Documents(SCHEMA, Limits(max_tokens=10))
    verdict = documents.verdict(GOOD)
    assert [format_error(e)["extensions"]["code"] for e in verdict.errors] == ["QUERY_TOO_LARGE"]


def test_documents_longer_than_max_chars_are_judged_every_time() -> None:
    documents = Documents(SCHEMA, Limits(), max_chars=len(GOOD) - 1)
    assert documents.verdict(GOOD) is not documents.verdict(GOOD)
    assert len(documents.cache) == 0
    at_limit = Documents(SCHEMA, Limits(), max_chars=len(GOOD))
    assert at_limit.verdict(GOOD) is at_limit.verdict(GOOD)


def test_the_cache_forgets_the_least_recently_used_verdict_first() -> None:
    cache = VerdictCache(max_entries=2)
    documents = Documents(SCHEMA, Limits(), cache=cache)
    a, b, c = "{ me { id } }", "{ tags(first: 1) { totalCount } }", GOOD
    documents.verdict(a)
    documents.verdict(b)
    documents.verdict(a)  # a is now the most recent
    documents.verdict(c)  # evicts b
    assert len(cache) == 2
    hits = cache.hits
    documents.verdict(a)
    assert cache.hits == hits + 1
    documents.verdict(b)
    assert cache.hits == hits + 1  # b was judged again


def test_a_cache_of_no_entries_keeps_nothing() -> None:
    cache = VerdictCache(max_entries=0)
    cache.put(("s", (1, 1, 1, 1, 1, True), "{ me { id } }"), Verdict(None))
    assert len(cache) == 0
    documents = Documents(SCHEMA, Limits(), cache=cache)
    assert documents.verdict(GOOD) is not documents.verdict(GOOD)
