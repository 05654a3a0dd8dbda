"""The status page of a real `sluice run --http` in headless Chromium: one row
per table with the events its log table holds, numbers that change as files
arrive, a table stopped by a refused schema change marked with its reason,
nothing fetched from any other host, and a screenshot that is not blank."""
import re
import shutil

from sluice_run import SluiceRun, count_rows, env_for, gen, log_path, wait_until
from test_status_page import SCREENSHOTS, not_blank, rows_of

TOKEN = "page-t0ken"
ONLY_LOCAL = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def events_shown(row_text: str) -> int:
    m = re.search(r"([\d,.\u202f\u00a0 ]+?)\s*events", row_text)
    assert m, row_text
    return int(re.sub(r"\D", "", m.group(1)))


def test_live_status_page(tmp_path, chromium):
    src, sink = tmp_path / "src", tmp_path / "sink"
    files = gen(src, tables=2, rows_per_table=30, changes_per_table=80, seed=9, late_files=0)
    held = tmp_path / "held"

    def hold(fs):
        for f in fs:
            (held / f["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(src / f["path"], held / f["path"])

    def release(fs):
        for f in fs:
            shutil.move(held / f["path"], src / f["path"])

    v2 = [f for f in files if f["schema_version"] == 2]
    # public_accounts' last CDC files arrive while the page is watched
    late = sorted((f for f in files if f["object"] == "public_accounts"
                   and f["schema_version"] == 1 and "cdc" in f["read_method"]),
                  key=lambda f: f["path"])[-3:]
    hold(v2 + late)
    run = SluiceRun(tmp_path, env_for(src, sink, DELTA_SCHEMA_EVOLUTION_STRATEGY="none"),
                    "--http-token", TOKEN)
    page = run.url + "/#token=" + TOKEN
    try:
        def both_ingested():
            tables = run.status()["tables"]
            return len(tables) == 2 and all(
                t["events_ingested"] == count_rows(log_path(sink, t["name"])) > 0
                and t["backlog"] == 0 for t in tables)
        wait_until(both_ingested, 120, "both tables ingested")
        rows = rows_of(chromium.dump_dom(page, ONLY_LOCAL)).rows
        assert set(rows) == {"public.accounts", "shop.orders"}
        for name, row in rows.items():
            assert row["state"] in ("running", "catching_up"), (name, row)
            assert events_shown(row["text"]) == count_rows(log_path(sink, name)), row["text"]
        before = events_shown(rows["public.accounts"]["text"])

        release(late)
        wait_until(lambda: count_rows(log_path(sink, "public.accounts")) > before, 120,
                   "the late files ingested")
        wait_until(lambda: {t["name"]: t["events_ingested"] for t in run.status()["tables"]}
                   ["public.accounts"] == count_rows(log_path(sink, "public.accounts")),
                   60, "the status to catch up")
        rows = rows_of(chromium.dump_dom(page, ONLY_LOCAL)).rows
        after = events_shown(rows["public.accounts"]["text"])
        assert after > before and after == count_rows(log_path(sink, "public.accounts"))

        release([f for f in v2 if f["object"] == "shop_orders"])
        wait_until(lambda: run.get("/readyz")[0] == 503, 120, "shop.orders to stop")
        dom = chromium.dump_dom(page, ONLY_LOCAL)
        rows = rows_of(dom).rows
        assert rows["shop.orders"]["state"] == "stopped"
        assert "schema evolution is 'none'" in rows["shop.orders"]["text"]
        assert rows["public.accounts"]["state"] != "stopped"
        assert "not ready: shop.orders" in dom

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = chromium.screenshot(page, SCREENSHOTS / "status-live.png", "1400,900", ONLY_LOCAL)
        not_blank(shot)
    finally:
        run.stop()
