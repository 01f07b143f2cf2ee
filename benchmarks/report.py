"""The table printed as jobs finish, and docs/PERFORMANCE.md (with a chart when
matplotlib is installed: the ``bench`` extra), written over at the end of a run."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

from benchmarks.harness import Result

HEADER = "| job | size | dbplay | baseline | ratio | goal | met? |"


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
    return f"{value:.1f} {unit}"


def line(row: Result) -> str:
    ratio = row.ratio
    if row.status != "ok":
        met = f"{row.status}: {row.note}"
    else:
        met = {True: "yes", False: "**no**", None: "—"}[row.met]
    baseline = _value(row.baseline, row.unit)
    if row.baseline_name and row.baseline is not None:
        baseline = f"{baseline} ({row.baseline_name})"
    elif row.baseline_name and row.status == "ok":
        baseline = row.baseline_name
    return (f"| {row.job} | {row.size} | {_value(row.dbplay, row.unit)} | {baseline} | "
            f"{f'{ratio:.2f}×' if ratio is not None and row.max_ratio else '—'} | "
            f"{row.goal} | {met} |")


def print_rows(rows: list[Result]) -> None:
    for row in rows:
        print(line(row), flush=True)


def machine(pg_version: str) -> list[str]:
    """CPU, cores, RAM, OS, Python, PostgreSQL: what the numbers depend on."""
    cpu = platform.processor() or "unknown"
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for text in Path("/proc/meminfo").read_text().splitlines():
            if text.startswith("MemTotal"):
                memory = f"{int(text.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    os_name = platform.platform()
    try:
        for text in Path("/etc/os-release").read_text().splitlines():
            if text.startswith("PRETTY_NAME="):
                os_name = f"{text.split('=', 1)[1].strip(chr(34))} ({platform.release()})"
    except OSError:
        pass
    return [f"- CPU: {cpu}, {os.cpu_count()} cores", f"- RAM: {memory}", f"- OS: {os_name}",
            f"- Python: {sys.version.split()[0]}",
            f"- PostgreSQL: {pg_version or 'not started'}"]


def chart(rows: list[Result], path: Path) -> str:
    """Draw the ratios against their goals; returns the page's line about the chart."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ("No chart: matplotlib is not installed (it comes with the `bench` extra: "
                "`pip install -e '.[bench]'`).")
    shown = [r for r in rows if r.ratio is not None and r.max_ratio is not None]
    if not shown:
        return "No chart: no job produced a ratio."
    figure, axes = plt.subplots(figsize=(9, 0.45 * len(shown) + 1.5))
    names = [r.job for r in shown]
    axes.barh(names, [r.ratio or 0 for r in shown],
              color=["tab:green" if r.met else "tab:red" for r in shown])
    axes.scatter([r.max_ratio for r in shown], names, marker="|", s=300, color="black",
                 label="goal")
    axes.invert_yaxis()
    axes.set_xlabel("dbplay / baseline (lower is better)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return f"![ratios against their goals]({path.name})"


def write(rows: list[Result], out: Path, *, quick: bool, repeat: int, pg_version: str,
          elapsed: float) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sizes = ("**quick sizes** (`make bench-quick`): numbers at this size say little about "
             "the full one" if quick else "full sizes (`make bench`)")
    text = [
        "# Performance",
        "",
        "`make bench` runs every benchmark at full size; `make bench-quick` at small sizes "
        "in about a minute (`python -m benchmarks [--quick] [--only JOB ...] [--repeat N] "
        "[--out docs/PERFORMANCE.md]`). Each job times dbplay and a named baseline in the "
        "same run, alternating (dbplay, baseline, dbplay, baseline…), and reports the "
        "medians. **Ratio** is dbplay's median divided by the baseline's: 1.0× is as fast "
        "as the baseline, below 1 faster. Jobs with an absolute goal have no ratio.",
        "",
        "Benchmarks are not tests: nothing here fails the build, the run always exits 0, a "
        "job whose engine is not installed is reported as skipped, and one that crashes as "
        "failed with its error.",
        "",
        f"Run: {now}, {sizes}, {repeat} runs per side, {elapsed:.0f} s in all.",
        "",
        "## Machine",
        "",
        *machine(pg_version),
        "",
        "## Results",
        "",
        HEADER,
        "|---|---|---|---|---|---|---|",
        *(line(row) for row in rows),
        "",
        "## Notes",
        "",
        *(f"- {row.job}: {row.note}" for row in rows if row.note and row.status == "ok"),
        "",
        chart(rows, out.with_name("performance.png")),
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(text), encoding="utf-8")
