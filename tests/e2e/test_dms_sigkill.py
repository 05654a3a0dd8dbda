"""SIGKILL at random moments while a DMS stream is ingested (issue 14): after
the kills a final `--once` completes and every table is exact: the log holds
each DMS row once, merged and history tables equal the reference model.
The kill schedule's seed is printed (-s) and replayed with E2E_KILL_SEED.
"""
from __future__ import annotations

import os
import random

from dms_support import (Scenario, check_history, check_log, check_merged, dms_env, kill_runs,
                         model, require_dms_source)


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
    # One file a batch, one log commit a file: the stream is drained at
    # `files` log commits (a last --once adds maintenance commits after).
    files = sum(1 for f in sc.root.rglob("*") if f.is_file())
    assert files > 100, f"the scenario wrote only {files} files"
    kills, runs, progress = kill_runs(sc, rows, env, rng, tmp_path / "runs.log", kills_wanted=15,
                                      max_commits_between=40, drained_at=files)
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
