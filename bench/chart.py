"""PNG bar chart of a record; run in the tools venv: python -m bench.chart REC PNG.

Self-contained (only matplotlib and the JSON record), so that the tools venv
does not need anything else from the bench package.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OURS = "#d1495b"
OTHERS = "#7a8a99"
CEILING = "#2e4057"


def draw(record: dict[str, Any], png: Path) -> None:
    table: dict[str, dict[str, dict[str, Any]]] = record["summary"]["throughput"]
    info = {fw["name"]: fw for fw in record["frameworks"]}
    endpoints = [ep for ep in record["options"]["endpoints"] if any(ep in eps for eps in table.values())]
    if not endpoints:
        raise SystemExit("nothing to draw")
    cols = min(3, len(endpoints))
    rows = math.ceil(len(endpoints) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows), squeeze=False)
    for ax, ep in zip(axes.flat, endpoints):
        cells = sorted(((fw, eps[ep]) for fw, eps in table.items() if ep in eps), key=lambda x: x[1]["rps"])
        names = [info[fw]["label"] if fw in info else fw for fw, _ in cells]
        values = [c["rps"] / 1000 for _, c in cells]
        colors = [OURS if info.get(fw, {}).get("ours") else CEILING if fw == "raw" else OTHERS for fw, _ in cells]
        bars = ax.barh(names, values, color=colors)
        top = max(values) if values else 1
        for bar, (_, cell) in zip(bars, cells):
            ratio = cell.get("rps_ratio")
            label = f"{bar.get_width():.1f}k" + (f"  {ratio:.2f}×" if ratio is not None else "")
            ax.text(bar.get_width() + top * 0.01, bar.get_y() + bar.get_height() / 2, label, va="center", fontsize=8)
        ax.set_xlim(0, top * 1.35)
        ax.set_title(ep, fontsize=11, fontweight="bold")
        ax.set_xlabel("thousand requests/s (median)", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in list(axes.flat)[len(endpoints) :]:
        ax.set_visible(False)
    m = record["machine"]
    opts = record["options"]
    fig.suptitle(
        f"Requests/s, higher is better (ratio to roll core in the same run). "
        f"{m['nproc']} CPUs, {m['cpu_model']}, Python {m['python']}; "
        f"wrk {opts['connections']} conns, {opts['rounds']}×{opts['duration_s']:g} s interleaved",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m bench.chart RECORD.json OUT.png")
    draw(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))


if __name__ == "__main__":
    main()
