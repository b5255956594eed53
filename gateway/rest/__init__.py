"""The REST API under /api/v1: routes to thin handlers that call the services."""

from __future__ import annotations

from starlette.routing import Route

from gateway.rest import accounts, categories, orders, products, reviews, tags

ROUTES = [
    Route("/auth/register", accounts.register, methods=["POST"]),
    Route("/auth/login", accounts.login, methods=["POST"]),
    Route("/auth/refresh", accounts.refresh, methods=["POST"]),
    Route("/users/me", accounts.me, methods=["GET"]),
    Route("/users/{id}", accounts.user, methods=["GET"]),
    Route("/products", products.collection, methods=["GET", "POST"]),
    Route("/products/{id}", products.item, methods=["GET", "PATCH", "DELETE"]),
    Route("/products/{id}/reviews", reviews.product_reviews, methods=["GET", "POST"]),
    Route("/reviews/{id}", reviews.item, methods=["GET", "PATCH", "DELETE"]),
    Route("/orders", orders.collection, methods=["GET", "POST"]),
    Route("/orders/{id}", orders.item, methods=["GET", "PATCH"]),
    Route("/orders/{id}/cancel", orders.cancel_order, methods=["POST"]),
    Route("/categories", categories.collection, methods=["GET", "POST"]),
    Route("/categories/{id}", categories.item, methods=["GET", "PATCH", "DELETE"]),
    Route("/categories/{id}/products", categories.category_products, methods=["GET"]),
    Route("/tags", tags.collection, methods=["GET", "POST"]),
    Route("/tags/{id}", tags.item, methods=["GET", "DELETE"]),
]
