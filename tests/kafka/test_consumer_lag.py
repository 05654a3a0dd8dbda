"""`sluice run --http` on a Kafka source: /metrics carries the consumer lag
(high watermark minus the next offset, summed over the partitions read) per
table, the status document carries it too, and it counts down to 0 as the
messages are ingested, and up again when more arrive. Debezium JSON
messages are produced directly (no database needed)."""
from __future__ import annotations

import json
import subprocess
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from conftest import SLUICE
from kafka_broker import free_port
from debezium_json import insert_message as message
from sluice_run import env, kafka_config

TOPIC = "lag1.inv.items"


def scrape(port: int):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "sluice_consumer_lag_messages":
                out[s.labels["table"]] = s.value
            if s.name == "sluice_events_ingested_total":
                out.setdefault("ingested", {})[s.labels["table"]] = s.value
    return out


def status(port: int):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as r:
        return json.loads(r.read())


def test_consumer_lag_counts_down_to_zero(kafka, tmp_path):
    kafka.create_topic(TOPIC, partitions=2)
    for p in range(2):
        kafka.produce(TOPIC, [message(i) for i in range(p, 400, 2)], partition=p)
    port = free_port()
    config = tmp_path / "sluice.toml"
    kafka_config(config, name="lag", bootstrap=kafka.bootstrap, topics=[TOPIC],
                 sink=tmp_path / "sink", source="max_files_per_batch = 1",
                 kafka="max_messages_per_unit = 5")
    log = open(tmp_path / "sluice.log", "w")
    proc = subprocess.Popen([SLUICE, "run", "--config", str(config), "--http", f"127.0.0.1:{port}"],
                            env=env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        seen = []

        def sample():
            assert proc.poll() is None, (tmp_path / "sluice.log").read_text()[-3000:]
            try:
                m = scrape(port)
            except OSError:
                return None
            lag = m.get("inv.items")
            if lag is not None:
                seen.append((lag, m.get("ingested", {}).get("inv.items", 0)))
            return lag

        deadline = time.time() + 120
        while time.time() < deadline and (not seen or seen[-1][0] != 0):
            sample()
            time.sleep(0.05)
        assert seen and seen[-1][0] == 0, f"the lag never reached 0: {seen[-10:]}"
        # One unit of 5 messages per batch: the lag was seen well above 0, and
        # lag + ingested is the 400 messages produced at every sample (up to
        # the one unit a scrape can see counted before the lag moved).
        assert max(lag for lag, _ in seen) >= 100, seen[:10]
        for lag, ingested in seen:
            assert 400 <= lag + ingested <= 405, (lag, ingested)
        # Only tables read from Kafka have the series; the status says it too.
        assert status(port)["tables"][0]["consumer_lag_messages"] == 0

        # More messages: the lag rises, then falls to 0 again.
        kafka.produce(TOPIC, [message(i) for i in range(400, 460)], partition=0)
        seen.clear()
        deadline = time.time() + 60
        while time.time() < deadline and (not seen or seen[-1][1] < 460 or seen[-1][0] != 0):
            sample()
            time.sleep(0.05)
        assert seen[-1] == (0, 460), seen[-10:]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
