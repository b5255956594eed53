"""What a compare run was asked to do, and the link and command that do it again.

The page puts these options in its URL (`/compare?scenario=product-page&network=4g...`),
so a link reproduces a run; the CLI prints the same run as a `gateway compare` command.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from gateway.compare.custom import Custom
from gateway.compare.network import PROFILES, Profile


@dataclass(frozen=True, slots=True)
class RunOptions:
    """A scenario (or a custom one), the networks, the cache mode and the runs per variant."""

    scenario: str
    networks: tuple[str, ...] = ("loopback",)
    cache: str = "cold"
    repeat: int = 3
    custom: Custom | None = None

    @property
    def profiles(self) -> list[Profile]:
        return [PROFILES[name] for name in self.networks]

    def query(self) -> str:
        """The page's URL query for this run (decoded by the page's script)."""
        params: list[tuple[str, str]] = [
            ("scenario", self.scenario),
            ("network", ",".join(self.networks)),
            ("cache", self.cache),
            ("repeat", str(self.repeat)),
        ]
        if self.custom is not None:
            custom = self.custom.as_dict()
            params += [("graphql", custom["graphql"]), ("rest", custom["rest"])]
            if custom["variables"]:
                params.append(("variables", orjson.dumps(custom["variables"]).decode()))
        return urlencode(params)

    def command(self) -> str:
        """The same run from a terminal (a custom document goes in a file of its own)."""
        argv = ["gateway", "compare"]
        if self.custom is not None:
            argv += ["--graphql", "query.graphql"]
            for step in self.custom.rest:
                argv += ["--rest", *step]
            if self.custom.variables:
                argv += ["--variables", orjson.dumps(dict(self.custom.variables)).decode()]
        else:
            argv += ["--scenario", self.scenario]
        for name in self.networks:
            argv += ["--network", name]
        argv += ["--cache", self.cache, "--repeat", str(self.repeat)]
        return shlex.join(argv)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "networks": list(self.networks),
            "cache": self.cache,
            "repeat": self.repeat,
            "custom": None if self.custom is None else self.custom.as_dict(),
        }


def networks(names: Sequence[str]) -> tuple[str, ...]:
    """Profile names in the catalogue's order, each once (`all`: every profile);
    ValueError names an unknown one."""
    wanted: set[str] = set()
    for name in names:
        for part in name.split(","):
            part = part.strip().lower()
            if part == "all":
                wanted |= set(PROFILES)
            elif part in PROFILES:
                wanted.add(part)
            elif part:
                raise ValueError(f"unknown network {part!r}; one of {', '.join(PROFILES)}, all")
    if not wanted:
        raise ValueError(f"name at least one network: {', '.join(PROFILES)}, all")
    return tuple(name for name in PROFILES if name in wanted)
