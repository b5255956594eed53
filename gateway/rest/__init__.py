"""The REST API under /api/v1: routes to thin handlers that call the services."""

from __future__ import annotations

from starlette.routing import Route

from gateway.rest import accounts, products

ROUTES = [
    Route("/auth/register", accounts.register, methods=["POST"]),
    Route("/auth/login", accounts.login, methods=["POST"]),
    Route("/auth/refresh", accounts.refresh, methods=["POST"]),
    Route("/users/me", accounts.me, methods=["GET"]),
    Route("/users/{id}", accounts.user, methods=["GET"]),
    Route("/products", products.list_products, methods=["GET"]),
    Route("/products/{id}", products.get_product, methods=["GET"]),
]
