"""The REST API under /api/v1: routes to thin handlers that call the services."""

from __future__ import annotations

from starlette.routing import Route

from gateway.rest import products

ROUTES = [
    Route("/products", products.list_products, methods=["GET"]),
    Route("/products/{id}", products.get_product, methods=["GET"]),
]
