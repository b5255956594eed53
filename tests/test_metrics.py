"""gateway/metrics.py: the app's own registry, and the gauges read at every scrape."""

from __future__ import annotations

from gateway.metrics import MAX_OPERATION_NAMES, Metrics


def test_two_apps_count_separately() -> None:
    first, second = Metrics(), Metrics()
    first.http_latency.labels("/api/v1/products", "GET", "200").observe(0.01)
    first.rate_limit_rejections.labels("general").inc()
    text = first.render().decode()
    assert (
        'gateway_http_request_duration_seconds_count{method="GET",route="/api/v1/products",status="200"} 1.0'
        in text
    )
    assert 'gateway_rate_limit_rejections_total{bucket="general"} 1.0' in text
    assert "/api/v1/products" not in second.render().decode()


def test_pool_and_plan_gauges_are_read_when_scraped() -> None:
    metrics = Metrics()
    in_use, kept, compiled = [3], [7], [11]
    metrics.observe_pool(lambda: in_use[0], maximum=10)
    metrics.observe_plans(lambda: kept[0], lambda: compiled[0])
    text = metrics.render().decode()
    assert 'gateway_db_pool_connections{state="in_use"} 3.0' in text
    assert 'gateway_db_pool_connections{state="max"} 10.0' in text
    assert 'gateway_read_plans{state="kept"} 7.0' in text
    assert 'gateway_read_plans{state="compiled"} 11.0' in text
    in_use[0], kept[0], compiled[0] = 0, 8, 12
    text = metrics.render().decode()
    assert 'gateway_db_pool_connections{state="in_use"} 0.0' in text
    assert 'gateway_read_plans{state="kept"} 8.0' in text
    assert 'gateway_read_plans{state="compiled"} 12.0' in text


def test_anonymous_operations_take_none_of_the_named_slots() -> None:
    metrics = Metrics()
    assert [metrics.operation(""), metrics.operation(None)] == ["anonymous", "anonymous"]
    names = [f"Op{i}" for i in range(MAX_OPERATION_NAMES)]
    # Every one of the allowed names still gets its own series, the last one included.
    assert [metrics.operation(name) for name in names] == names
    assert metrics.operation("OneTooMany") == "other"
    assert metrics.operation(None) == "anonymous"
