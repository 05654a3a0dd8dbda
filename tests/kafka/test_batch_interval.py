"""pipeline.batch_interval under a steady stream: a message every 50 ms for
3 s. With "0s" each message that arrives is its own batch, so the log table
gets a commit per poll (many); with "1s" the stream waits out the interval
after each batch that took all its input, so the log table gets about one
commit a second, and every message still lands exactly once in the log and
the merged table. Debezium JSON messages are produced directly."""
from __future__ import annotations

import json
import time
from pathlib import Path

from debezium_json import insert_message as message
from sluice_run import Run, kafka_config, read_delta

MESSAGES = 60
GAP_S = 0.05


def data_commit_times(table: Path):
    """The commitInfo timestamps (ms) of the commits that added data files."""
    times = []
    for f in sorted((table / "_delta_log").glob("*.json")):
        actions = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        if any("add" in a for a in actions):
            times += [a["commitInfo"]["timestamp"] for a in actions if "commitInfo" in a]
    return times


def run_steady_stream(kafka, tmp_path: Path, name: str, batch_interval: str):
    from confluent_kafka import Producer

    topic = f"{name}.inv.items"
    kafka.create_topic(topic, partitions=1)
    sink = tmp_path / name
    config = kafka_config(tmp_path / f"{name}.toml", name=name, bootstrap=kafka.bootstrap,
                          topics=[topic], sink=sink,
                          pipeline=f'batch_interval = "{batch_interval}"')
    run = Run(config, tmp_path / f"{name}.log")
    try:
        producer = Producer(kafka.client_config(**{"linger.ms": 0}))
        for i in range(MESSAGES):
            producer.produce(topic, key=message(i)[0], value=message(i)[1])
            producer.flush(10)
            time.sleep(GAP_S)
        log_table = sink / "inv" / "items_log"
        deadline = time.time() + 60
        rows = []
        while time.time() < deadline:
            assert run.alive(), (tmp_path / f"{name}.log").read_text()[-3000:]
            if (log_table / "_delta_log").is_dir():
                rows = read_delta(log_table)
                if len(rows) >= MESSAGES:
                    break
            time.sleep(0.2)
        time.sleep(1.5)  # a late duplicate would land by now
        rows = read_delta(log_table)
        assert sorted(r["id"] for r in rows) == list(range(MESSAGES))
        merged_deadline = time.time() + 30
        while time.time() < merged_deadline:
            merged = read_delta(sink / "inv" / "items")
            if len(merged) == MESSAGES:
                break
            time.sleep(0.2)
        assert sorted(r["id"] for r in merged) == list(range(MESSAGES))
        return data_commit_times(log_table)
    finally:
        run.stop()


def test_batch_interval_gathers_a_steady_stream_into_fewer_commits(kafka, tmp_path):
    every_message = run_steady_stream(kafka, tmp_path, "bi0", "0s")
    # The stream's pace, not the knob: without it, many small commits.
    assert len(every_message) >= 15, every_message

    gathered = run_steady_stream(kafka, tmp_path, "bi1", "1s")
    produce_s = MESSAGES * GAP_S
    assert 2 <= len(gathered) <= produce_s + 3, gathered
    # Batches start at least the interval apart while the stream keeps up;
    # commits land a batch's work later (commit times are wall clock, ms),
    # and the first batch, which creates the tables, takes longest.
    gaps = [b - a for a, b in zip(gathered, gathered[1:])]
    assert min(gaps[1:]) >= 800, gaps
