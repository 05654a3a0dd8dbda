"""A pipeline run through a faulty network (issue 13, Proof: faults):
`sluice run` reads a Datastream stream from the S3 emulator and writes its
tables to the S3 emulator, every request going through a proxy that answers
503s, drops connections, loses the answer of writes that happened and
delays answers (fault_proxy.py); the run is SIGKILLed at random moments and
started again, several times, then run to the end. The log tables hold
every event exactly once (no duplicate, nothing lost), the merged tables
equal the reference replay, the log table's txn counts each file once, and
no stream was stopped by a transient fault."""
from __future__ import annotations

import random
import signal
import subprocess
import time

from conftest import SLUICE, unique
from fault_proxy import RandomFaultProxy
from test_pipeline import both_env, check_tables, e2e, table_uri, txns_of

# Per request: 4% 503, 2% dropped connections, 2% slow answers; per write
# another 3% done but never answered.
RATES = {"503": 0.04, "drop": 0.02, "slow": 0.02, "lost": 0.03}


def test_run_through_faults_and_sigkills_is_exact(s3, tmp_path):
    empty_config = tmp_path / "empty.toml"
    empty_config.write_text("")
    src = tmp_path / "gen"
    e2e.gen(src, tables=2, rows_per_table=30, changes_per_table=60, seed=83, late_files=0,
            files_per_minute=2)
    expected = e2e.Expected(src)
    bucket = unique("stream")
    s3.make_bucket(bucket)
    assert s3.upload_tree(bucket, "out", src) > 4
    sink = s3.uri(unique("lake"))
    rng = random.Random(83)
    proxy = RandomFaultProxy(s3.endpoint, RATES, seed=83)
    env = both_env(s3, AWS_ENDPOINT_URL=proxy.url, SOURCE_PATH=f"s3://{bucket}/out",
                   DELTA_TABLE_PATH=sink, SLUICE_SOURCE_MAX_FILES_PER_BATCH="2",
                   SLUICE_PIPELINE_MERGE_INTERVAL="0s", SLUICE_SINK_MERGE_MODE="copy_on_write",
                   SLUICE_SINK_CHECKPOINT_INTERVAL="4", SLUICE_SOURCE_POLL_INTERVAL="200ms")
    outputs = []
    try:
        for _ in range(4):
            proc = subprocess.Popen([SLUICE, "run", "--config", str(empty_config)], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            time.sleep(rng.uniform(1.0, 5.0))
            proc.send_signal(signal.SIGKILL)
            outputs.append(proc.communicate(timeout=30)[0])
        t_final = time.monotonic()
        final = subprocess.run([SLUICE, "run", "--config", str(empty_config), "--once"],
                               env=env, capture_output=True, text=True, timeout=240)
        outputs.append(final.stdout + final.stderr)
        injected = dict(proxy.injected)
        print(f"faults injected {injected} in {proxy.requests} requests; last run "
              f"{time.monotonic() - t_final:.1f}s, "
              f"{sum('retrying' in line for line in final.stdout.splitlines())} retried steps")
    finally:
        proxy.close()
    text = "\n".join(outputs)
    assert final.returncode == 0, f"the last run exited {final.returncode}:\n{text[-4000:]}"
    assert "STOPPED" not in text and "terminate called" not in text, text[-4000:]
    # the faults did happen, each kind
    assert all(injected.get(k, 0) > 0 for k in RATES), injected
    # the kills did land mid-stream: the runs before the last one committed
    # something, and the last one still had work
    killed_commits = sum(len(e2e.progress_lines(o)) for o in outputs[:-1])
    assert killed_commits > 0, text[-3000:]
    assert e2e.progress_lines(final.stdout), final.stdout[-3000:]

    plain = both_env(s3)  # the checks read without the proxy
    objs = sorted(expected.tables)
    check_tables(s3, plain, sink, expected, objs, tmp_path, copy_on_write=True)
    for obj in objs:
        assert txns_of(s3, plain, table_uri(sink, expected, obj, "_log")) == {
            f"sluice/{obj}": len(expected.files_of(obj))}
