"""`sluice run` reading Debezium's JSON topics (PostgreSQL connector, real
events) into Delta tables: after each step of issue 15's scenario the merged
table equals `SELECT *` in PostgreSQL and the log table holds each Kafka
message once; then kill -9 of sluice mid-stream, repeatedly, and the tables
still end exact. One PostgreSQL + connector for the module (topic prefix
`pipe1`, so other modules' `dbserver1` topics are not touched; the topic has
two partitions)."""
from __future__ import annotations

import json
import os
import random
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import SLUICE
from kafka_connect import DebeziumPostgres, debezium_installed
from sluice_run import Run, env, kafka_config, read_delta

PREFIX = "pipe1"
TOPIC = f"{PREFIX}.shop.items"
TABLES = """
CREATE SCHEMA shop;
CREATE TABLE shop.items (id int PRIMARY KEY, name text, qty int);
INSERT INTO shop.items VALUES (1, 'seed', 0);
"""


@pytest.fixture(scope="module")
def connector(kafka, postgres, tmp_path_factory):
    missing = debezium_installed()
    if missing:
        pytest.fail(missing)
    postgres.sql(TABLES)
    # Two partitions (Debezium's records go by key), so that positions hold
    # several offsets and two processes of a group have a partition each.
    kafka.create_topic(TOPIC, partitions=2)
    connect = DebeziumPostgres(tmp_path_factory.mktemp("connect-pipe"), kafka.bootstrap, postgres,
                               topic_prefix=PREFIX)
    connect.start()
    try:
        yield connect
    finally:
        connect.stop()


@pytest.fixture(scope="module")
def sink(tmp_path_factory):
    return tmp_path_factory.mktemp("sink")


def write_config(path: Path, kafka, sink: Path, group: str) -> Path:
    return kafka_config(path, name="dbz", bootstrap=kafka.bootstrap, topics=[TOPIC], sink=sink,
                        source="max_files_per_batch = 4",
                        kafka=(f'group_id = "{group}"\n' if group else "") +
                        "max_messages_per_unit = 3",
                        sections='[source.kafka.properties]\n"session.timeout.ms" = "6000"')


def pg_rows(postgres):
    text = postgres.sql("SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM shop.items t").strip()
    return json.loads(text)


def merged_rows(sink: Path, columns):
    path = sink / "shop" / "items"
    if not (path / "_delta_log").is_dir():
        return None
    rows = [{c: r.get(c) for c in columns} for r in read_delta(path)]
    return sorted(rows, key=lambda r: r["id"])


def check_log(sink: Path):
    """No Kafka message twice in the log table (its rows name their origin)."""
    log = read_delta(sink / "shop" / "items_log")
    origins = Counter(r["_cdc_origin"] for r in log if r.get("_cdc_origin"))
    doubled = {o: n for o, n in origins.items() if n > 1}
    assert not doubled, f"log rows ingested twice: {doubled}"
    return log


def log_commits(sink: Path) -> int:
    return len(list((sink / "shop" / "items_log" / "_delta_log").glob("*.json")))


def wait_equal(postgres, sink: Path, timeout: float = 60):
    expected = pg_rows(postgres)
    columns = list(expected[0].keys()) if expected else ["id"]
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        try:
            got = merged_rows(sink, columns)
        except Exception as e:  # a table being created
            got = f"unreadable: {e}"
        if got == expected:
            return expected
        time.sleep(0.3)
    raise AssertionError(f"merged table != SELECT *:\n got      {got}\n expected {expected}")


def test_scenario_merged_equals_postgres(kafka, postgres, connector, sink, tmp_path):
    config = write_config(tmp_path / "sluice.toml", kafka, sink, "sluice-e2e")
    run = Run(config, tmp_path / "run.log")
    try:
        # insert 10 (after the snapshot's seed row)
        postgres.sql("INSERT INTO shop.items SELECT g, 'item ' || g, g FROM generate_series(2, 11) g")
        assert len(wait_equal(postgres, sink)) == 11
        # insert 5, update 3
        postgres.sql("INSERT INTO shop.items SELECT g, 'item ' || g, g FROM generate_series(12, 16) g;"
                     "UPDATE shop.items SET qty = qty + 100 WHERE id IN (2, 5, 13)")
        wait_equal(postgres, sink)
        # delete 3
        postgres.sql("DELETE FROM shop.items WHERE id IN (3, 4, 14)")
        assert len(wait_equal(postgres, sink)) == 13
        # ADD COLUMN, then insert: old rows NULL in it
        postgres.sql("ALTER TABLE shop.items ADD COLUMN note text;"
                     "INSERT INTO shop.items VALUES (17, 'new', 1, 'hello')")
        rows = wait_equal(postgres, sink)
        assert rows[-1]["note"] == "hello" and rows[0]["note"] is None
        # a primary-key update: the old key goes, the new one comes
        postgres.sql("UPDATE shop.items SET id = 100 WHERE id = 6")
        wait_equal(postgres, sink)
        # DROP COLUMN, then insert: the merged table keeps the column, NULL
        # for the new row
        postgres.sql("ALTER TABLE shop.items DROP COLUMN note;"
                     "INSERT INTO shop.items VALUES (18, 'after drop', 2)")
        wait_equal(postgres, sink)
        kept = {r["id"]: r for r in read_delta(sink / "shop" / "items")}
        assert kept[17]["note"] == "hello" and kept[18]["note"] is None
        assert run.alive(), (tmp_path / "run.log").read_text()[-3000:]
    finally:
        run.stop()
    log = check_log(sink)
    assert len(log) >= 20
    print((tmp_path / "run.log").read_text()[-2000:])


def test_avro_framing_gives_the_same_tables(kafka, postgres, connector, sink, registry, tmp_path):
    """The same changes as Confluent-framed Avro (every message of the JSON
    topic re-encoded as AvroConverter writes it, schemas in the test
    registry, same partitions and keys) through `sluice run --once` with
    format avro: the merged table equals SELECT * again."""
    from confluent_kafka import Consumer, TopicPartition

    from avro_reencode import Reencoder

    wm = Consumer(kafka.client_config(**{"group.id": "watermarks"}))
    total = sum(wm.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in (0, 1))
    wm.close()
    messages = kafka.consume(TOPIC, total, timeout=60)
    assert len(messages) == total
    avro_topic = f"avro1.shop.items"
    kafka.create_topic(avro_topic, partitions=2)
    reencoder = Reencoder(registry)
    for p in (0, 1):
        kafka.produce(avro_topic, [(reencoder.convert(m.key(), avro_topic, is_key=True),
                                    reencoder.convert(m.value(), avro_topic), m.headers())
                                   for m in messages if m.partition() == p], partition=p)
    avro_sink = tmp_path / "avro_sink"
    config = tmp_path / "avro.toml"
    kafka_config(config, name="dbz", bootstrap=kafka.bootstrap, topics=[avro_topic],
                 sink=avro_sink, format="avro",
                 kafka=f'schema_registry_url = "{registry.url}"')
    proc = subprocess.run([SLUICE, "run", "--config", str(config), "--once"], env=env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "0 dead letters" in proc.stdout, proc.stdout[-3000:]
    wait_equal(postgres, avro_sink, timeout=5)
    check_log(avro_sink)


def test_kill_9_mid_stream_stays_exact(kafka, postgres, connector, sink, tmp_path):
    """Changes keep flowing while sluice is killed at random moments; a last
    run then catches up and the tables are exact (same sink as the scenario:
    the tables' offsets, not Kafka's, say where to resume). No group here: a
    member killed -9 holds its partitions until its session times out (6 s),
    longer than these runs live; groups are the next test's subject."""
    config = write_config(tmp_path / "sluice.toml", kafka, sink, "")
    seed = int(os.environ.get("E2E_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    next_id = 1000
    kills, progress = 0, []
    for round_ in range(6):
        run = Run(config, tmp_path / "runs.log")
        for _ in range(4):
            ids = range(next_id, next_id + 5)
            next_id += 5
            postgres.sql(f"INSERT INTO shop.items SELECT g, 'k' || g, g FROM "
                         f"generate_series({ids[0]}, {ids[-1]}) g;"
                         f"UPDATE shop.items SET qty = qty + 1 WHERE id = {ids[0]};"
                         f"DELETE FROM shop.items WHERE id = {ids[1]}")
            time.sleep(rng.uniform(0.05, 0.4))
        time.sleep(rng.uniform(0.2, 1.5))
        if run.alive():
            kills += 1
        run.kill()
        progress.append(log_commits(sink))
    assert kills >= 4, f"only {kills} kills landed (seed {seed})"
    assert len(set(progress)) >= 3, f"the killed runs committed nothing new: {progress} (seed {seed})"
    run = Run(config, tmp_path / "runs.log")
    try:
        wait_equal(postgres, sink, timeout=90)
    except AssertionError as e:
        raise AssertionError(f"{e}\n(kill seed {seed})") from None
    finally:
        run.stop()
    check_log(sink)


def test_two_processes_in_a_group_one_killed(kafka, postgres, connector, sink, tmp_path):
    """Two `sluice run` in one group split the two partitions (each commits
    rows of its own); one is killed -9 while changes flow and the other takes
    its partition over: the tables end exact, nothing lost or doubled."""
    config = write_config(tmp_path / "sluice.toml", kafka, sink, "sluice-pair")
    a = Run(config, tmp_path / "a.log")
    b = Run(config, tmp_path / "b.log")
    next_id = 5000

    def changes(steps):
        nonlocal next_id
        for _ in range(steps):
            postgres.sql(f"INSERT INTO shop.items SELECT g, 'p' || g, g FROM "
                         f"generate_series({next_id}, {next_id + 9}) g;"
                         f"UPDATE shop.items SET qty = -qty WHERE id = {next_id + 3};"
                         f"DELETE FROM shop.items WHERE id = {next_id + 4}")
            next_id += 10
            time.sleep(0.3)

    def commits(log: Path) -> int:
        return log.read_text().count("shop.items_log v")

    try:
        changes(4)
        wait_equal(postgres, sink, timeout=90)
        # Both took part: each had a partition of its own.
        deadline = time.time() + 30
        while time.time() < deadline and not (commits(tmp_path / "a.log") and
                                              commits(tmp_path / "b.log")):
            changes(1)
            time.sleep(1)
        assert commits(tmp_path / "a.log") and commits(tmp_path / "b.log"), (
            (tmp_path / "a.log").read_text()[-2000:], (tmp_path / "b.log").read_text()[-2000:])
        before = commits(tmp_path / "a.log")
        changes(2)
        b.kill()
        changes(4)
        wait_equal(postgres, sink, timeout=90)
        assert a.alive(), (tmp_path / "a.log").read_text()[-3000:]
        assert commits(tmp_path / "a.log") > before
    finally:
        a.stop()
        b.kill()
    check_log(sink)


def flattened_connector(work, kafka, postgres, prefix: str, delete_mode: str):
    """A second, started Debezium PostgreSQL connector on the same database
    whose records ExtractNewRecordState flattens (`__op`, `__lsn`,
    `__source_ts_ms`), deletes handled by `delete_mode`."""
    flat = DebeziumPostgres(work, kafka.bootstrap, postgres, topic_prefix=prefix, extra={
        "transforms": "unwrap",
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        "transforms.unwrap.delete.tombstone.handling.mode": delete_mode,
        "transforms.unwrap.add.fields": "op,lsn,source.ts_ms",
    })
    flat.start()
    return flat


def test_flattened_records(kafka, postgres, connector, tmp_path):
    """ExtractNewRecordState's flattened records (`__op`, `__lsn`,
    `__source_ts_ms`, deletes rewritten with `__deleted`) from a second
    connector on the same database: its snapshot of the current rows, then
    changes, end as SELECT * again."""
    flat = flattened_connector(tmp_path / "connect-flat", kafka, postgres, "flat1", "rewrite")
    flat_sink = tmp_path / "flat_sink"
    config = tmp_path / "flat.toml"
    kafka_config(config, name="flat", bootstrap=kafka.bootstrap, topics=["flat1.shop.items"],
                 sink=flat_sink, sections='[source.debezium]\nenvelope = "flattened"')
    run = Run(config, tmp_path / "flat.log")
    try:
        postgres.sql("INSERT INTO shop.items VALUES (9001, 'flat', 1);"
                     "UPDATE shop.items SET qty = 77 WHERE id = 9001;"
                     "UPDATE shop.items SET name = 'renamed' WHERE id = 1;"
                     "DELETE FROM shop.items WHERE id = 2")
        wait_equal(postgres, flat_sink, timeout=90)
        assert run.alive(), (tmp_path / "flat.log").read_text()[-3000:]
    finally:
        run.stop()
        flat.stop()
    check_log(flat_sink)



def test_flattened_tombstone_deletes(kafka, postgres, connector, tmp_path):
    """`delete.tombstone.handling.mode = tombstone`: ExtractNewRecordState
    drops the delete event and keeps only the Kafka tombstone, so with
    `tombstone_deletes = true` the tombstone is the delete. A key deleted
    then inserted again, and one deleted for good, end as SELECT *; the log
    holds each delete once, as a row naming its tombstone's offset."""
    flat = flattened_connector(tmp_path / "connect-tomb", kafka, postgres, "tomb1", "tombstone")
    out = tmp_path / "tomb_sink"
    config = tmp_path / "tomb.toml"
    kafka_config(config, name="tomb", bootstrap=kafka.bootstrap, topics=["tomb1.shop.items"],
                 sink=out, sections='[source.debezium]\nenvelope = "flattened"\n'
                                    'tombstone_deletes = true')
    run = Run(config, tmp_path / "tomb.log")
    try:
        postgres.sql("INSERT INTO shop.items VALUES (9101, 'gone', 1), (9102, 'back', 1)")
        wait_equal(postgres, out, timeout=90)
        postgres.sql("DELETE FROM shop.items WHERE id IN (9101, 9102);"
                     "INSERT INTO shop.items VALUES (9102, 'back again', 2)")
        wait_equal(postgres, out, timeout=90)
        assert run.alive(), (tmp_path / "tomb.log").read_text()[-3000:]
    finally:
        run.stop()
        flat.stop()
    check_log(out)
    # A stream of this source is a topic, and the run says so.
    assert "discovered topic 'tomb1.shop.items'" in (tmp_path / "tomb.log").read_text()
    log = read_delta(out / "shop" / "items_log")
    deletes = sorted(r["id"] for r in log if r["_cdc_op"] == "delete")
    assert deletes == [9101, 9102], deletes
    # Without the option the same topic loses its deletes (skipped tombstones).
    plain = tmp_path / "plain_sink"
    kafka_config(tmp_path / "plain.toml", name="plain", bootstrap=kafka.bootstrap,
                 topics=["tomb1.shop.items"], sink=plain,
                 sections='[source.debezium]\nenvelope = "flattened"')
    run = Run(tmp_path / "plain.toml", tmp_path / "plain.log")
    try:
        deadline = time.time() + 90
        ids = []
        while time.time() < deadline:
            try:
                ids = sorted(r["id"] for r in read_delta(plain / "shop" / "items"))
            except Exception:
                ids = []
            if 9102 in ids and 9101 in ids:
                break
            time.sleep(0.3)
        assert 9101 in ids, ids  # the delete was only a tombstone
    finally:
        run.stop()

KINDS = """
CREATE SCHEMA IF NOT EXISTS shop;
CREATE TABLE shop.kinds (
  id int PRIMARY KEY, n numeric, at timestamptz, day date, wake time, span interval,
  doc json, uid uuid, raw bytea, tags text[], big text, qty int);
INSERT INTO shop.kinds (id, qty) VALUES (1, 0);
"""


def test_types_toast_and_truncate(kafka, postgres, tmp_path):
    """The scenario's remaining steps on a table of their own, captured by a
    connector that forwards TRUNCATE (Debezium skips it by default,
    `skipped.operations=t`): typed columns arrive as their Delta types; an
    update that leaves a TOASTed column out (`__debezium_unavailable_value`)
    keeps the stored value; TRUNCATE empties the merged table, and a row
    inserted after it is the only one left."""
    import datetime as dt

    postgres.sql(KINDS)
    connect = DebeziumPostgres(tmp_path / "connect-kinds", kafka.bootstrap, postgres,
                               topic_prefix="kinds1", extra={
                                   "skipped.operations": "none",
                                   "table.include.list": "shop.kinds",
                               })
    connect.start()
    out = tmp_path / "kinds_sink"
    config = tmp_path / "kinds.toml"
    kafka_config(config, name="kinds", bootstrap=kafka.bootstrap, topics=["kinds1.shop.kinds"],
                 sink=out, sink_extra="history_tables = true")
    # Random text does not compress: stored out of line (TOAST).
    rng = random.Random(7)
    big = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(20000))
    run = Run(config, tmp_path / "kinds.log")

    def merged():
        path = out / "shop" / "kinds"
        if not (path / "_delta_log").is_dir():
            return None
        return {r["id"]: r for r in read_delta(path)}

    def wait(pred, what, timeout=90):
        deadline = time.time() + timeout
        rows = None
        while time.time() < deadline:
            try:
                rows = merged()
            except Exception:  # a commit being written
                rows = None
            if rows is not None and pred(rows):
                return rows
            time.sleep(0.3)
        raise AssertionError(f"{what}: {rows}\n{(tmp_path / 'kinds.log').read_text()[-3000:]}")

    try:
        postgres.sql(
            "INSERT INTO shop.kinds VALUES (2, -0.000123, '2024-02-29 12:34:56.789+05:30', "
            "'2024-02-29', '23:59:59.999999', '1 day 02:00:00.5', '{\"k\": [1, null]}', "
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff10', '{\"a b\",NULL,\"é\"}', "
            f"'{big}', 1)")
        rows = wait(lambda r: 2 in r, "the typed row")
        row = rows[2]
        assert row["n"] == "-0.000123"  # numeric without scale: exact text
        assert row["at"] == dt.datetime(2024, 2, 29, 7, 4, 56, 789000, tzinfo=dt.timezone.utc)
        assert row["day"] == dt.date(2024, 2, 29)
        assert row["wake"] == "23:59:59.999999"  # Delta has no TIME: text, as for every source
        assert row["span"] == (26 * 3600 + 0.5) * 1_000_000  # MicroDuration: µs
        assert json.loads(row["doc"]) == {"k": [1, None]}
        assert row["uid"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        assert row["raw"] == b"\x00\xff\x10"
        assert row["tags"] == ["a b", None, "é"]
        assert row["big"] == big

        # An update that does not touch the TOASTed column: Debezium sends the
        # placeholder, the merged table keeps the value.
        postgres.sql("UPDATE shop.kinds SET qty = 5 WHERE id = 2")
        rows = wait(lambda r: r.get(2, {}).get("qty") == 5, "the update")
        assert rows[2]["big"] == big
        log = read_delta(out / "shop" / "kinds_log")
        assert any(r["id"] == 2 and "big" in (r.get("_cdc_unchanged") or [])
                   for r in log), [(r["_cdc_op"], r["id"], (r["big"] or "")[:30], r.get("_cdc_unchanged"))
                            for r in log]
        history = read_delta(out / "shop" / "kinds_history")
        versions = [r for r in history if r["id"] == 2]
        assert len(versions) == 2 and all(v["big"] == big for v in versions)

        postgres.sql("TRUNCATE shop.kinds; INSERT INTO shop.kinds (id, qty) VALUES (3, 9)")
        rows = wait(lambda r: set(r) == {3}, "TRUNCATE then insert")
        assert rows[3]["qty"] == 9
        assert run.alive(), (tmp_path / "kinds.log").read_text()[-3000:]
    finally:
        run.stop()
        connect.stop()
    log = read_delta(out / "shop" / "kinds_log")
    assert sum(1 for r in log if r["_cdc_op"] == "truncate") == 1
    history = read_delta(out / "shop" / "kinds_history")
    open_rows = [r for r in history if r["__END_AT"] is None]
    assert {r["id"] for r in open_rows} == {3}, open_rows
