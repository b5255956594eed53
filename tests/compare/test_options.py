"""Run options: network names and their errors, and the link, command and JSON that repeat a run."""

from __future__ import annotations

import shlex
from urllib.parse import parse_qsl

import orjson
import pytest

from gateway.compare.custom import Custom
from gateway.compare.network import PROFILES
from gateway.compare.options import RunOptions, networks


def test_networks_come_back_in_catalogue_order_each_once() -> None:
    assert networks(["slow-3g", "4g", "loopback"]) == ("loopback", "4g", "slow-3g")
    assert networks(["4g", "4G", " 4g "]) == ("4g",)
    assert networks(["broadband, ,4g,", "loopback"]) == ("loopback", "broadband", "4g")
    assert networks(["4g", "ALL"]) == tuple(PROFILES)


def test_an_unknown_or_missing_network_is_named_in_the_error() -> None:
    unknown = "^unknown network 'wifi'; one of loopback, broadband, 4g, slow-3g, all$"
    with pytest.raises(ValueError, match=unknown):
        networks(["4g", "wifi"])
    for nothing in ([], [""], [" , "]):
        with pytest.raises(ValueError, match="^name at least one network: loopback, broadband, "):
            networks(nothing)


def test_defaults_and_profiles() -> None:
    options = RunOptions("search")
    assert (options.networks, options.cache, options.repeat, options.custom) == (
        ("loopback",),
        "cold",
        3,
        None,
    )
    assert [p.name for p in RunOptions("search", ("4g", "loopback")).profiles] == ["4g", "loopback"]
    with pytest.raises(KeyError):
        _ = RunOptions("search", ("5g",)).profiles


def test_the_link_query_names_every_option_in_order() -> None:
    options = RunOptions("product-page", ("loopback", "4g"), "warm", 7)
    assert options.query() == "scenario=product-page&network=loopback%2C4g&cache=warm&repeat=7"


def test_a_custom_scenario_travels_in_the_link_with_its_variables_only_when_given() -> None:
    query = 'query Q($id: ID!) { product(id: $id) { name } } # & = "'
    rest = (("/api/v1/products/1", "/api/v1/tags?limit=5&x=1"), ("/api/v1/categories",))
    with_vars = RunOptions("custom", ("4g",), "cold", 2, Custom(query, rest, {"id": "1"}))
    pairs = parse_qsl(with_vars.query())
    assert [k for k, _ in pairs] == [
        "scenario",
        "network",
        "cache",
        "repeat",
        "graphql",
        "rest",
        "variables",
    ]
    decoded = dict(pairs)
    assert decoded["graphql"] == query
    assert decoded["rest"] == "/api/v1/products/1\n/api/v1/tags?limit=5&x=1\n\n/api/v1/categories"
    assert orjson.loads(decoded["variables"]) == {"id": "1"}
    without = RunOptions("custom", custom=Custom(query, rest, {}))
    assert "variables" not in dict(parse_qsl(without.query()))


def test_the_command_quotes_what_a_shell_would_split() -> None:
    assert RunOptions("search", ("loopback", "4g"), "warm", 1).command() == (
        "gateway compare --scenario search --network loopback --network 4g --cache warm --repeat 1"
    )
    given = Custom(
        "{ tags { name } }",
        (("/api/v1/tags?limit=5&sort=name", "/api/v1/products/1"), ("/api/v1/categories",)),
        {"q": "desk lamp"},
    )
    command = RunOptions("custom", ("loopback",), "cold", 2, given).command()
    assert shlex.split(command) == [
        "gateway",
        "compare",
        "--graphql",
        "query.graphql",
        "--rest",
        "/api/v1/tags?limit=5&sort=name",
        "/api/v1/products/1",
        "--rest",
        "/api/v1/categories",
        "--variables",
        '{"q":"desk lamp"}',
        "--network",
        "loopback",
        "--cache",
        "cold",
        "--repeat",
        "2",
    ]
    # The document itself never goes on the command line: it is a file of its own.
    assert "tags" not in command.split("--rest")[0]


def test_as_dict_is_json_ready() -> None:
    given = Custom("{ tags { name } }", (("/api/v1/tags",),), {"a": [1]})
    assert RunOptions("custom", ("4g",), "warm", 4, given).as_dict() == {
        "scenario": "custom",
        "networks": ["4g"],
        "cache": "warm",
        "repeat": 4,
        "custom": {"graphql": "{ tags { name } }", "rest": "/api/v1/tags", "variables": {"a": [1]}},
    }
    assert RunOptions("search").as_dict()["custom"] is None
