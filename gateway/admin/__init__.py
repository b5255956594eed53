"""The admin console at /admin: a single page that is a plain client of the REST API."""

from gateway.admin.page import CSP, STATIC, routes

__all__ = ["CSP", "STATIC", "routes"]
