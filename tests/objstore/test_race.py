"""Two processes committing to one table on each store: every commit lands
exactly once and none overwrites another (the conditional create is the only
arbiter; there is no lock service)."""
import json
import os
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import SLUICE, unique

COMMITS = int(os.environ.get("SLUICE_OBJSTORE_RACE_COMMITS", "25"))


def writer_script(uri: str, inputs) -> str:
    return "\n".join(
        f"{SLUICE} write {uri} --input {p} --no-deletion-vectors || exit 1" for p in inputs)


def test_two_writers_race(store, tmp_path):
    table_key = unique("race") + "/t"
    uri = store.uri(table_key)
    # Version 0 first, so both writers race on appends only.
    seed = tmp_path / "seed.parquet"
    pq.write_table(pa.table({"writer": pa.array([-1], pa.int64()),
                             "seq": pa.array([-1], pa.int64())}), seed)
    subprocess.run([SLUICE, "write", uri, "--input", str(seed), "--no-deletion-vectors"], env=store.run_env(),
                   check=True, capture_output=True, timeout=120)
    procs = []
    for w in range(2):
        inputs = []
        for i in range(COMMITS):
            p = tmp_path / f"w{w}-{i}.parquet"
            pq.write_table(pa.table({"writer": pa.array([w], pa.int64()),
                                     "seq": pa.array([i], pa.int64())}), p)
            inputs.append(p)
        procs.append(subprocess.Popen(["bash", "-c", writer_script(uri, inputs)],
                                      env=store.run_env(), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    for p in procs:
        out, err = p.communicate(timeout=1200)
        assert p.returncode == 0, f"a writer failed on {store.kind}:\n{out}\n{err}"

    out = tmp_path / "all.parquet"
    subprocess.run([SLUICE, "cat", uri, "--out", str(out)], env=store.run_env(), check=True,
                   capture_output=True, timeout=120)
    got = sorted(zip(*(pq.read_table(out)[c].to_pylist() for c in ("writer", "seq"))))
    want = sorted([(-1, -1)] + [(w, i) for w in range(2) for i in range(COMMITS)])
    assert got == want, f"{store.kind}: commits lost or duplicated"

    # One log entry per commit, versions contiguous, each naming its own rows.
    from deltalake import DeltaTable

    dt = DeltaTable(uri, storage_options=store.storage_options)
    assert dt.version() == 2 * COMMITS
    history = dt.history()
    assert len(history) == 2 * COMMITS + 1
    got_rs = sorted(zip(*(dt.to_pyarrow_table()[c].to_pylist() for c in ("writer", "seq"))))
    assert got_rs == want
    # The writers really ran concurrently: their commits interleave in the
    # log rather than forming two blocks.
    order = [writer_of_commit(store, table_key, v) for v in range(1, 2 * COMMITS + 1)]
    switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
    assert switches >= 2, f"{store.kind}: writers did not overlap: {order}"


def writer_of_commit(store, table_key: str, version: int) -> int:
    """The writer whose row a commit added, from its add action's stats."""
    text = store.read(store.bucket, f"{table_key}/_delta_log/{version:020d}.json").decode()
    for line in text.splitlines():
        action = json.loads(line)
        if "add" in action:
            return json.loads(action["add"]["stats"])["minValues"]["writer"]
    raise AssertionError(f"commit {version} adds no file:\n{text}")
