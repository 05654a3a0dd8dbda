"""Bad messages through `sluice run` (issue 15: "any other framing → dead
letter", "a message whose id the registry does not know → dead letter, and
the consumer goes on"): every bad message becomes one dead-letter row naming
its topic, partition and offset with a reason; the good messages around it
land in the log and merged tables; the run keeps consuming what comes next;
a registry that answers 500 for a while delays messages, it does not
dead-letter them."""
from __future__ import annotations

import json
import time
from pathlib import Path

from confluent_wire import avro_encode, frame_id
from sluice_run import Run, kafka_config, read_delta


def envelope(i: int, op: str = "c", after: bool = True) -> bytes:
    doc = {"before": None, "after": {"id": i, "name": f"n{i}"} if after else None,
           "source": {"connector": "postgresql", "db": "app", "schema": "inv", "table": "items",
                      "ts_ms": 1_700_000_000_000 + i, "lsn": 1000 + i, "snapshot": "false"},
           "op": op, "ts_ms": 1_700_000_000_000 + i}
    return json.dumps(doc).encode()


def key(i: int) -> bytes:
    return json.dumps({"id": i}).encode()


def config(path: Path, kafka, topic: str, sink: Path, fmt: str = "json",
           registry_url: str = "") -> Path:
    return kafka_config(path, name="bad", bootstrap=kafka.bootstrap, topics=[topic], sink=sink,
                        format=fmt, kafka=f'schema_registry_url = "{registry_url}"'
                        if registry_url else "")


def wait_for(what: str, probe, log: Path, timeout: float = 60):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = probe()
        except Exception as e:  # a table not created yet, or a commit being written
            last = f"unreadable: {e}"
        if last is True:
            return
        time.sleep(0.3)
    raise AssertionError(f"{what}: last saw {last}\n{log.read_text()[-3000:]}")


def ids(path: Path):
    return sorted(r["id"] for r in read_delta(path))


def dead_letters(sink: Path, table: str):
    return read_delta(sink / "_dead_letters" / table)


def test_bad_json_messages_are_dead_letters_and_the_run_goes_on(kafka, tmp_path):
    topic = "bad1.inv.items"
    kafka.create_topic(topic, partitions=1)
    bad = {
        1: (key(2), b"not json {"),
        2: (key(3), b'{"x": 1}'),                       # not an envelope
        3: (key(4), envelope(4, op="z")),               # an unknown op
        4: (key(5), envelope(5, after=False)),          # a create without `after`
        5: (None, envelope(6)),                         # no key, no configured keys
    }
    messages = [(key(1), envelope(1))] + [bad[o] for o in sorted(bad)]
    messages += [(key(7), None),                        # a Kafka tombstone: skipped
                 (key(8), envelope(8))]
    kafka.produce(topic, messages, partition=0)
    sink = tmp_path / "sink"
    log = tmp_path / "run.log"
    run = Run(config(tmp_path / "bad.toml", kafka, topic, sink), log)
    try:
        wait_for("the good messages merged", lambda: ids(sink / "inv" / "items") == [1, 8], log)
        letters = dead_letters(sink, "inv.items")
        assert sorted(r["offset"] for r in letters) == sorted(bad), letters
        for r in letters:
            origin = next(v for k, v in r.items() if isinstance(v, str) and v.startswith(topic))
            assert origin == f"{topic}/0@{r['offset']}", r
            assert r["reason"], r
        by_offset = {r["offset"]: r for r in letters}
        assert by_offset[1]["raw"] == b"not json {"
        # The consumer goes on: a message produced later lands too.
        kafka.produce(topic, [(key(9), envelope(9))], partition=0)
        wait_for("a later message merged", lambda: ids(sink / "inv" / "items") == [1, 8, 9], log)
        assert run.alive(), log.read_text()[-3000:]
    finally:
        run.stop()
    assert sorted(r["id"] for r in read_delta(sink / "inv" / "items_log")) == [1, 8, 9]


KEY_SCHEMA = {"type": "record", "name": "Key", "namespace": "bad2.inv.items",
              "fields": [{"name": "id", "type": "int"}]}
VALUE_SCHEMA = {
    "type": "record", "name": "Envelope", "namespace": "bad2.inv.items",
    "fields": [
        {"name": "before", "type": ["null", {"type": "record", "name": "Value", "fields": [
            {"name": "id", "type": "int"}, {"name": "name", "type": ["null", "string"]}]}],
         "default": None},
        {"name": "after", "type": ["null", "Value"], "default": None},
        {"name": "source", "type": {"type": "record", "name": "Source", "fields": [
            {"name": "connector", "type": "string"}, {"name": "db", "type": "string"},
            {"name": "schema", "type": "string"}, {"name": "table", "type": "string"},
            {"name": "ts_ms", "type": "long"}, {"name": "lsn", "type": ["null", "long"]},
            {"name": "snapshot", "type": ["null", "string"]}]}},
        {"name": "op", "type": "string"},
        {"name": "ts_ms", "type": ["null", "long"]},
    ]}


def test_bad_framing_and_unknown_schema_ids_are_dead_letters(kafka, registry, tmp_path):
    topic = "bad2.inv.items"
    kafka.create_topic(topic, partitions=1)
    key_id = registry.registry.register(f"{topic}-key", json.dumps(KEY_SCHEMA), "AVRO", []).id
    value_id = registry.registry.register(f"{topic}-value", json.dumps(VALUE_SCHEMA), "AVRO",
                                          []).id

    def good(i: int):
        value = json.loads(envelope(i))
        return (frame_id(key_id, avro_encode(KEY_SCHEMA, {"id": i})),
                frame_id(value_id, avro_encode(VALUE_SCHEMA, value)))

    kafka.produce(topic, [
        good(1),
        (frame_id(key_id, avro_encode(KEY_SCHEMA, {"id": 2})), frame_id(999, b"\x02")),
        (frame_id(key_id, avro_encode(KEY_SCHEMA, {"id": 3})), b"\x07not a frame"),
        (frame_id(key_id, avro_encode(KEY_SCHEMA, {"id": 4})), frame_id(value_id, b"\xff")),
        good(5),
    ], partition=0)
    # The registry is down when the run starts: the messages wait, none is
    # dead-lettered for it.
    registry.fail_next(6, status=500)
    sink = tmp_path / "sink"
    log = tmp_path / "run.log"
    run = Run(config(tmp_path / "bad.toml", kafka, topic, sink, fmt="avro",
                     registry_url=registry.url), log)
    try:
        wait_for("the good messages merged", lambda: ids(sink / "inv" / "items") == [1, 5], log,
                 timeout=90)
        letters = dead_letters(sink, "inv.items")
        assert sorted(r["offset"] for r in letters) == [1, 2, 3], letters
        reasons = {r["offset"]: r["reason"] for r in letters}
        assert "999" in reasons[1], reasons  # the unknown id is named
        kafka.produce(topic, [good(6)], partition=0)
        wait_for("a later message merged", lambda: ids(sink / "inv" / "items") == [1, 5, 6], log)
        assert run.alive(), log.read_text()[-3000:]
    finally:
        run.stop()
