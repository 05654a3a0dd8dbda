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
    log_dirs = [sc.table_path(q, "_log") / "_delta_log" for q in rows]

    def commits():  # log commits so far, over every table
        return sum(len(list(d.glob("*.json"))) for d in log_dirs if d.is_dir())

    # One file a batch, one log commit a file: the stream is drained at
    # `files` log commits (a last --once adds maintenance commits after).
    files = sum(1 for f in sc.root.rglob("*") if f.is_file())
    assert files > 100, f"the scenario wrote only {files} files"
    # Each run is killed at a random instant: after a random number of new
    # commits (so kills land all along the stream, however fast the machine)
    # or at a random time (so they land during start-up and between commits
    # too), whichever comes first.
    deadline = time.monotonic() + 120
    window = 4.0  # widened after a run that committed nothing (a loaded machine)
    with open(tmp_path / "runs.log", "w") as log:
        while kills < 15 and time.monotonic() < deadline:
            before = commits()
            if before >= files:
                break
            proc = subprocess.Popen([SLUICE, "run", "--config", str(sc.config)], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
            runs += 1
            after_commits = rng.randint(1, 40)
            # the first runs wait out the settle interval of the fresh files
            kill_at = time.monotonic() + rng.uniform(0.05, window)
            while proc.poll() is None and time.monotonic() < kill_at:
                if commits() - before >= after_commits:
                    time.sleep(rng.uniform(0.0, 0.03))
                    break
                time.sleep(0.01)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            assert proc.returncode in (-signal.SIGKILL, 0), f"run exited {proc.returncode} (seed {seed})"
            progress.append(commits())
            window = 4.0 if progress[-1] > before else min(window * 1.5, 20.0)
    print(f"kill seed {seed}: {kills} kills in {runs} runs, log commits after each {progress} "
          f"of {files}")
    assert kills >= 5, f"only {kills} kills landed (seed {seed})"
    sc.run_once(**{k: v for k, v in env.items() if k.startswith("SLUICE_")})
    mid = {p for p in progress if 0 < p < files}
    assert len(mid) >= 3, (f"the kills did not land while the stream was being ingested "
                           f"(log commits after each run {progress} of {files}; seed {seed})")
    try:
        check_log(sc, rows, settings=settings)
        check_merged(sc, model.merged(settings, rows))
        check_history(sc, model.history(settings, rows))
    except AssertionError as e:
        raise AssertionError(f"{e}\n(kill seed {seed})") from None
