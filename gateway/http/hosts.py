"""The Host allow-list (`ALLOWED_HOSTS`): requests addressed to any other name are refused.

Nothing the gateway sends is built from the Host header any more (links are relative or
under `PUBLIC_URL`); the list is the second line: a request that names a site this server
does not serve (a DNS-rebinding page, a misrouted proxy, a probe of virtual hosts) gets a
400 before it reaches anything. `*.example.com` admits every subdomain, `*` any host.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.types import Scope

# host[:port], the host a name, an IPv4 address or a bracketed IPv6 literal (RFC 9110 §7.2).
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::[0-9]{0,5})?")


class HostList:
    """The host names requests may be addressed to: names, `*.domain`, or `*` for any."""

    def __init__(self, allowed_hosts: Sequence[str]) -> None:
        self.any = "*" in allowed_hosts
        self.names = frozenset(host.lower() for host in allowed_hosts if not host.startswith("*"))
        self.suffixes = tuple(host[1:].lower() for host in allowed_hosts if host.startswith("*."))

    def allows(self, header: str | None) -> bool:
        """Whether a Host header value names an allowed host (any port)."""
        if self.any:
            return True
        match = _HOST.fullmatch(header or "")
        if match is None:
            return False
        host = match.group(1).lower()
        return host in self.names or host.endswith(self.suffixes)

    def allows_scope(self, scope: Scope) -> bool:
        """Whether a request's (or WebSocket's) Host names an allowed host."""
        if self.any:
            return True
        header = next((v for k, v in scope["headers"] if k == b"host"), None)
        return self.allows(None if header is None else bytes(header).decode("latin-1"))
