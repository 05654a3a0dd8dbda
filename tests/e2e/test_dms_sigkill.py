"""SIGKILL at random moments while a DMS stream is ingested (issue 14): after
the kills a final `--once` completes and every table is exact: the log holds
each DMS row once, merged and history tables equal the reference model.
The kill schedule's seed is printed (-s) and replayed with E2E_KILL_SEED.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import time

from conftest import SLUICE
from dms_support import (Scenario, check_history, check_log, check_merged, dms_env, model,
                         require_dms_source)


def test_dms_exactly_once_under_sigkill(tmp_path):
    require_dms_source(tmp_path)
    # many small files: one transaction per CDC file, before images (key changes)
    sc = Scenario(tmp_path, format="parquet", before_image_prefix="BI_", transactions=160,
                  txns_per_file=1, load_file_rows=3, seed=41)
    settings, rows = sc.model()
    env = dms_env(SLUICE_SOURCE_MAX_FILES_PER_BATCH=1, SLUICE_PIPELINE_MERGE_INTERVAL="0s",
                  SLUICE_SOURCE_POLL_INTERVAL="100ms")
    seed = int(os.environ.get("E2E_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    kills, runs, progress = 0, 0, []

    def commits():  # log commits so far, over every table
        return sum(len(list((sc.table_path(q, "_log") / "_delta_log").glob("*.json")))
                   for q in rows if (sc.table_path(q, "_log") / "_delta_log").is_dir())

    deadline = time.monotonic() + 120
    # On a loaded machine a run may need longer than the window to commit
    # anything: a run that made no progress widens the window for the next.
    window = 0.6
    with open(tmp_path / "runs.log", "w") as log:
        while (kills < 15 or len(set(progress)) < 4) and time.monotonic() < deadline:
            proc = subprocess.Popen([SLUICE, "run", "--config", str(sc.config)], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
            time.sleep(rng.uniform(0.05, window))
            runs += 1
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            assert proc.returncode in (-signal.SIGKILL, 0), f"run exited {proc.returncode} (seed {seed})"
            before = progress[-1] if progress else 0
            progress.append(commits())
            if progress[-1] == before:
                window = min(window * 1.5, 5.0)
            if proc.returncode == 0:
                break  # a run drained the stream: nothing left to interrupt
    print(f"kill seed {seed}: {kills} kills in {runs} runs, log commits after each {progress}")
    assert kills >= 5, f"only {kills} kills landed (seed {seed})"
    sc.run_once(**{k: v for k, v in env.items() if k.startswith("SLUICE_")})
    final = commits()
    mid = {p for p in progress if 0 < p < final}
    assert len(mid) >= 3, (f"the kills did not land while the stream was being ingested "
                           f"(log commits after each run {progress}, at the end {final}; seed {seed})")
    try:
        check_log(sc, rows, settings=settings)
        check_merged(sc, model.merged(settings, rows))
        check_history(sc, model.history(settings, rows))
    except AssertionError as e:
        raise AssertionError(f"{e}\n(kill seed {seed})") from None
