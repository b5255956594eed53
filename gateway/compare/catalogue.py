"""Every Compare scenario, in the order the page and the CLI list them."""

from __future__ import annotations

from gateway.compare.reads import (
    CACHE_PAGE,
    CATEGORY_TREE,
    HTTP_CACHING,
    PRODUCT_CARDS,
    PRODUCT_PAGE,
    SEARCH,
)
from gateway.compare.scenarios import Scenario
from gateway.compare.writes import ADD_REVIEW, ORDER_HISTORY, PLACE_ORDER

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        PRODUCT_CARDS,
        PRODUCT_PAGE,
        CATEGORY_TREE,
        SEARCH,
        ORDER_HISTORY,
        PLACE_ORDER,
        ADD_REVIEW,
        CACHE_PAGE,
        HTTP_CACHING,
    )
}
