"""/metrics parsed by the official Prometheus client's text parser; /healthz
and /readyz computed from the same status the page shows."""
import json
import time

from prometheus_client.parser import text_string_to_metric_families

from conftest import wait_for


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample_value(fams: dict, family: str, sample: str, **labels) -> float:
    for s in fams[family].samples:
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise KeyError(f"{sample}{labels}")


def test_metrics_parse_with_prometheus_client(demo):
    status, headers, text = demo.get("/metrics")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    fams = families(text)

    # The parser strips _total from a counter family's name; samples keep it.
    expected = {
        "sluice_events_ingested": "counter",
        "sluice_rows_merged": "counter",
        "sluice_dead_letters": "counter",
        "sluice_source_bytes_read": "counter",
        "sluice_commits": "counter",
        "sluice_source_lag_seconds": "gauge",
        "sluice_backlog": "gauge",
        "sluice_table_stopped": "gauge",
        "sluice_batch_duration_seconds": "histogram",
        "sluice_commit_duration_seconds": "histogram",
        "process_cpu_seconds": "counter",
        "process_resident_memory_bytes": "gauge",
        "process_open_fds": "gauge",
        "process_start_time_seconds": "gauge",
    }
    for name, kind in expected.items():
        assert name in fams, f"{name} missing from /metrics"
        assert fams[name].type == kind, name
        assert fams[name].documentation, f"{name} has no HELP"

    tables = {s.labels["table"] for s in fams["sluice_events_ingested"].samples}
    assert tables == {"shop.orders", "shop.customers", "inventory.items"}
    assert sample_value(fams, "sluice_table_stopped", "sluice_table_stopped",
                        table="inventory.items") == 1
    assert sample_value(fams, "sluice_table_stopped", "sluice_table_stopped",
                        table="shop.orders") == 0
    assert sample_value(fams, "process_resident_memory_bytes",
                        "process_resident_memory_bytes") > 1e6
    assert abs(sample_value(fams, "process_start_time_seconds",
                            "process_start_time_seconds") - time.time()) < 3600

    # Histograms: cumulative buckets ending in +Inf == _count.
    hist = [s for s in fams["sluice_batch_duration_seconds"].samples
            if s.labels.get("table") == "shop.orders"]
    buckets = [s for s in hist if s.name.endswith("_bucket")]
    assert buckets[-1].labels["le"] == "+Inf"
    counts = [s.value for s in buckets]
    assert counts == sorted(counts)
    count = next(s.value for s in hist if s.name.endswith("_count"))
    assert counts[-1] == count > 0


def test_counters_grow_and_agree_with_status(demo):
    first = families(demo.get("/metrics")[2])
    time.sleep(1.0)
    second = families(demo.get("/metrics")[2])
    name = "sluice_events_ingested_total"
    a = sample_value(first, "sluice_events_ingested", name, table="shop.orders")
    b = sample_value(second, "sluice_events_ingested", name, table="shop.orders")
    assert b > a
    # A stopped table ingests nothing.
    assert (sample_value(first, "sluice_events_ingested", name, table="inventory.items")
            == sample_value(second, "sluice_events_ingested", name, table="inventory.items"))

    status = json.loads(demo.get("/api/status")[2])
    by_name = {t["name"]: t for t in status["tables"]}
    assert by_name["shop.orders"]["dead_letters"]["count"] == sample_value(
        families(demo.get("/metrics")[2]), "sluice_dead_letters", "sluice_dead_letters_total",
        table="shop.orders")


def test_healthz_and_readyz_name_the_stopped_table(demo):
    assert demo.get("/healthz")[:3:2] == (200, "ok\n")
    status, _, body = demo.get("/readyz")
    assert status == 503
    assert "inventory.items" in body and "schema change refused" in body
    assert "shop.orders" not in body


def test_readyz_flips_when_a_table_stops(demo_factory):
    server = demo_factory("--stop-after-s", "2")
    status, _, body = server.get("/readyz")
    assert status == 200, body
    assert wait_for(lambda: server.get("/readyz")[0] == 503, timeout=10)
    assert "inventory.items" in server.get("/readyz")[2]
    assert server.get("/healthz")[0] == 200


def test_status_document_shape(demo):
    status, headers, body = demo.get("/api/status")
    assert status == 200 and headers["Content-Type"] == "application/json"
    doc = json.loads(body)
    assert doc["ready"] is False and doc["stopped_tables"] == ["inventory.items"]
    assert [t["name"] for t in doc["tables"]] == sorted(t["name"] for t in doc["tables"])
    states = {t["name"]: t["state"] for t in doc["tables"]}
    assert states == {"inventory.items": "stopped", "shop.customers": "catching_up",
                      "shop.orders": "running"}
    orders = next(t for t in doc["tables"] if t["name"] == "shop.orders")
    for key in ("lag_seconds", "backlog", "events_ingested", "rows_merged", "versions",
                "last_commit", "dead_letters", "schema_changes", "series", "source",
                "state_reason"):
        assert key in orders, key
    series = orders["series"]
    assert len(series["t_ms"]) >= 30
    assert len(series["t_ms"]) == len(series["throughput_eps"]) == len(series["lag_seconds"])
    assert series["t_ms"] == sorted(series["t_ms"])
