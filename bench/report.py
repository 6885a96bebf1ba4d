"""Write the record: JSON, Markdown table, PNG chart, docs/performance.md."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .config import DOCS_PAGE, REPO_ROOT, TOOLS

DOCS_START = "<!-- bench:results:start -->"
DOCS_END = "<!-- bench:results:end -->"
DOCS_CHART = DOCS_PAGE.parent / "performance.png"


CONTENDED = 0.85  # below this share of its CPU, a server was starved by other processes


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _labels(record: dict[str, Any]) -> dict[str, str]:
    return {fw["name"]: fw["label"] + (" ★" if fw["ours"] else "") for fw in record["frameworks"]}


def markdown(record: dict[str, Any]) -> str:
    """The results as Markdown tables (every figure with its ratio to the reference)."""
    summary = record["summary"]
    table = summary["throughput"]
    labels = _labels(record)
    endpoints = [ep for ep in record["options"]["endpoints"] if any(ep in eps for eps in table.values())]
    frameworks = [fw["name"] for fw in record["frameworks"]]
    ref = labels.get(record["reference"], record["reference"])
    m = record["machine"]
    opts = record["options"]
    lines = [
        f"Run of {record['date']} — `{record['command']}` — {record['elapsed_s']:.0f} s in total.",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}, Linux {m['kernel']}. "
        f"wrk (1 thread, CPU {opts['client_cpu']}) → one server process (CPU {opts['server_cpu']}) over 127.0.0.1, "
        f"{opts['connections']} keep-alive connections, {opts['warmup_s']:g} s warm-up, "
        f"{opts['rounds']} interleaved rounds of {opts['duration_s']:g} s; medians. "
        f"Ratios are to **{ref}** in the same run; ★ = ours.",
        "",
    ]
    utils = [c["server_util"] for eps in table.values() for c in eps.values() if c.get("server_util")]
    if utils and min(utils) < CONTENDED:
        lines += [
            f"**Caution:** in some runs a server got only {min(utils):.0%} of its CPU (median over the "
            f"cells {sorted(utils)[len(utils) // 2]:.0%}): other processes were using the machine, so "
            "req/s ratios are noisy; the per-CPU-second table is the steadier one.",
            "",
        ]
    lines += [
        "### Throughput (requests/s, median; ratio to roll core)",
        "",
        "| framework | " + " | ".join(endpoints) + " |",
        "| --- |" + " ---: |" * len(endpoints),
    ]

    def row(fw: str, cell: Any) -> str:
        return f"| {labels[fw]} | " + " | ".join(cell(table.get(fw, {}).get(ep)) for ep in endpoints) + " |"

    for fw in frameworks:
        if fw in table:
            lines.append(row(fw, lambda c: "–" if c is None else f"{_num(c['rps'])} ({_ratio(c['rps_ratio'])})"))
    lines += ["", "### Requests per server CPU-second (median; ratio to roll core)", "",
              "Throughput divided by the CPU time the server process used: it does not move when other "
              "processes steal CPU from the server or from wrk, so it is the steadier figure on a shared machine. "
              "In parentheses, the ratio; `util` is the median share of CPU 1 the server got.", "",
              "| framework | " + " | ".join(endpoints) + " |", "| --- |" + " ---: |" * len(endpoints)]  # fmt: skip
    for fw in frameworks:
        if fw in table:
            lines.append(row(fw, lambda c: "–" if c is None or c.get("per_cpu") is None else
                             f"{_num(c['per_cpu'])} ({_ratio(c['per_cpu_ratio'])}, util {c['server_util']:.0%})"))  # fmt: skip
    lines += ["", "### p99 latency (ms, median of the rounds; ratio to roll core)", "",
              "| framework | " + " | ".join(endpoints) + " |", "| --- |" + " ---: |" * len(endpoints)]  # fmt: skip
    for fw in frameworks:
        if fw in table:
            lines.append(row(fw, lambda c: "–" if c is None else f"{_num(c['p99_ms'], 2)} ({_ratio(c['p99_ratio'])})"))
    lines += ["", "### Errors (socket errors, timeouts and non-2xx answers, all timed runs)", "",
              "| framework | " + " | ".join(endpoints) + " |", "| --- |" + " ---: |" * len(endpoints)]  # fmt: skip
    for fw in frameworks:
        if fw in table:
            lines.append(row(fw, lambda c: "–" if c is None else str(c["errors"])))

    over, rss = summary["overload"], summary["rss"]
    if over or rss:
        lines += [
            "",
            f"### Overload ({opts['overload_connections']} connections on `typed`, "
            f"{opts['overload_duration_s']:g} s) and peak memory",
            "",
            "| framework | req/s | p99 (ms) | errors | peak RSS (MiB) |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for fw in frameworks:
            o, r = over.get(fw), rss.get(fw)
            if o is None and r is None:
                continue
            cells = ["–", "–", "–"] if o is None else [
                f"{_num(o['rps'])} ({_ratio(o['rps_ratio'])})",
                f"{_num(o['p99_ms'], 1)} ({_ratio(o['p99_ratio'])})",
                str(o["errors"]),
            ]  # fmt: skip
            mem = "–" if r is None or r["mib"] is None else f"{_num(r['mib'], 1)} ({_ratio(r['ratio'])})"
            lines.append(f"| {labels[fw]} | " + " | ".join([*cells, mem]) + " |")

    lines += ["", "### Targets (on req/s; per server CPU-second alongside)", "",
              "| target | req/s ratio | met | per-CPU ratio | met |", "| --- | ---: | :---: | ---: | :---: |"]  # fmt: skip

    def met(value: bool | None) -> str:
        return "n/a" if value is None else ("yes" if value else "**MISSED**")

    for t in summary["targets"]:
        lines.append(
            f"| {t['target']} | {_ratio(t['ratio'])} | {met(t['met'])} "
            f"| {_ratio(t.get('per_cpu_ratio'))} | {met(t.get('per_cpu_met'))} |"
        )

    if record["failures"]:
        lines += ["", "### Failures (not timed)", ""]
        for fw, items in record["failures"].items():
            for what, reason in items.items():
                last = reason.strip().splitlines()[-1] if reason.strip() else "?"
                lines.append(f"- {labels.get(fw, fw)} / {what}: {last[:300]}")
    return "\n".join(lines) + "\n"


def chart(record_path: Path, png: Path) -> bool:
    """Draw the PNG with matplotlib from the tools venv (not a project dependency)."""
    if not TOOLS.python.exists():
        print("[bench] no tools venv: chart skipped")
        return False
    proc = subprocess.run(
        [str(TOOLS.python), "-m", "bench.chart", str(record_path), str(png)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        print(f"[bench] chart failed: {proc.stderr[-1500:]}")
        return False
    return True


def write(record: dict[str, Any], results_dir: Path, update_docs: bool = True) -> Path:
    """bench/results/<stamp>.json + latest.{json,md,png}; docs/performance.md."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = record["date"].replace(":", "").replace("-", "").replace("+0000", "Z")
    record_path = results_dir / f"{stamp}.json"
    text = json.dumps(record, indent=1, sort_keys=False)
    record_path.write_text(text)
    (results_dir / "latest.json").write_text(text)
    md = markdown(record)
    (results_dir / "latest.md").write_text(md)
    png = results_dir / "latest.png"
    has_chart = chart(record_path, png)
    if update_docs:
        if has_chart:
            DOCS_CHART.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, DOCS_CHART)
        update_docs_page(md, has_chart)
    return record_path


def update_docs_page(md: str, has_chart: bool) -> None:
    """Replace the generated section of docs/performance.md (the rest is prose)."""
    block = DOCS_START + "\n" + (f"![benchmark chart]({DOCS_CHART.name})\n\n" if has_chart else "") + md + DOCS_END
    if DOCS_PAGE.exists():
        page = DOCS_PAGE.read_text()
        if DOCS_START in page and DOCS_END in page:
            before, rest = page.split(DOCS_START, 1)
            after = rest.split(DOCS_END, 1)[1]
            DOCS_PAGE.write_text(before + block + after)
            return
        DOCS_PAGE.write_text(page.rstrip() + "\n\n## Latest results\n\n" + block + "\n")
        return
    DOCS_PAGE.parent.mkdir(parents=True, exist_ok=True)
    DOCS_PAGE.write_text("# Performance\n\n## Latest results\n\n" + block + "\n")


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.report RECORD.json`: rewrite latest.*, the chart and
    the docs page from a stored record (e.g. after a change to the report)."""
    import argparse

    from .config import RESULTS_DIR
    from .harness import summarise

    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("record", type=Path)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    record = json.loads(args.record.read_text())
    record["summary"] = summarise(record)
    write(record, RESULTS_DIR, update_docs=not args.no_docs)
    print(markdown(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
