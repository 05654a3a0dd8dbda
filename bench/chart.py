"""The chart of docs/BENCHMARKS.md from a bench/results/<scale>-latest.json:
throughput against the peers, per-batch latency (p50/p99), and Sluice's
per-batch cost against batch size and table size."""
from __future__ import annotations

import json
import sys

ORDER = ["sluice", "sluice-zstd", "copy-floor", "delta-rs", "spark"]
COLORS = {"sluice": "#1f77b4", "sluice-zstd": "#6baed6", "copy-floor": "#7f7f7f",
          "delta-rs": "#ff7f0e", "spark": "#d62728"}


def render(results: dict, out_png: str, size_results: dict | None = None) -> str:
    """`size_results` (a size-latest.json) fills the table-size panel when
    `results` has no sweep of its own, as the full run is made without it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = results["engines"]
    names = [n for n in ORDER if n in e]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    ax = axes[0][0]
    eps = [e[n]["events_per_s"] for n in names]
    bars = ax.bar(names, eps, color=[COLORS[n] for n in names])
    ax.set_yscale("log")
    ax.set_ylabel("events/s (log scale)")
    ax.set_title("End-to-end throughput (log + merged table)")
    for b, v in zip(bars, eps):
        ax.annotate(f"{v:,.0f}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom",
                    fontsize=9)
    ax = axes[0][1]
    x = range(len(names))
    p50 = [e[n]["batch_ms_p50"] / 1000 for n in names]
    p99 = [e[n]["batch_ms_p99"] / 1000 for n in names]
    ax.bar([i - 0.2 for i in x], p50, width=0.4, label="p50", color=[COLORS[n] for n in names])
    ax.bar([i + 0.2 for i in x], p99, width=0.4, label="p99", color=[COLORS[n] for n in names],
           alpha=0.5)
    ax.set_xticks(list(x))
    ax.set_xticklabels(names)
    ax.set_yscale("log")
    ax.set_ylabel("seconds per batch (log scale)")
    ax.set_title(f"Per-batch latency, {results['config']['files_per_batch']} files a batch "
                 "(solid p50, light p99)")
    ax = axes[1][0]
    sw = results.get("batch_size_sweep", [])
    if len(sw) < 2:
        ax.axis("off")
        ax.text(0.5, 0.5, "no batch-size sweep in this run", ha="center", va="center")
    else:
        ev = [s["cdc_events_per_batch_mean"] for s in sw]
        ax.plot(ev, [s["cdc_full_batch_ms_p50"] or 0 for s in sw], "o-", color=COLORS["sluice"],
                label="CDC batch p50 (ms)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("mean CDC events per batch (files a batch: "
                      + ", ".join(str(s["files_per_batch"]) for s in sw) + ")")
        ax.set_ylabel("ms per batch")
        ax2 = ax.twinx()
        ax2.plot(ev, [1e6 / s["cdc_us_per_event"] for s in sw], "s--", color="#2ca02c",
                 label="CDC events/s")
        ax2.set_ylabel("CDC events/s")
        ax.set_title("Sluice: batch size")
        ax.legend(loc="upper left")
        ax2.legend(loc="lower right")
    ax = axes[1][1]
    ts = results.get("table_size_sweep", [])
    ts_from = ""
    if not ts and size_results:
        ts = size_results.get("table_size_sweep", [])
        ts_from = f"\n(make bench-size, {size_results.get('started', '?')})"
    if not ts:
        ax.axis("off")
        ax.text(0.5, 0.5, "no table-size sweep in this run", ha="center", va="center")
    else:
        ax.plot([t["table_rows"] for t in ts], [t["batch_ms"] for t in ts], "o-",
                color=COLORS["sluice"])
        for t in ts:
            ax.annotate(f"{t['batch_ms']:.0f} ms", (t["table_rows"], t["batch_ms"]),
                        textcoords="offset points", xytext=(0, 6), ha="center", fontsize=9)
        ax.set_xscale("log")
        ax.set_xlabel("rows in the merged table")
        ax.set_ylabel("ms for one 100K-event batch")
        ax.set_ylim(0, max(t["batch_ms"] for t in ts) * 1.25)
        ax.set_title("Sluice: batch cost vs table size" + ts_from)
    m = results.get("machine", {})
    fig.suptitle(f"Sluice bench, scale {results['scale']}: S={results['config']['rows']:,} rows, "
                 f"C={results['config']['changes']:,} changes; {m.get('nproc')} cores, "
                 f"{m.get('cpu', '')}", fontsize=11)
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
    return out_png


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        print(render(json.load(fh), sys.argv[2]))
