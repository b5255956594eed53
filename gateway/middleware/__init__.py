"""Pure-ASGI middleware, outermost first in `gateway.app`."""
