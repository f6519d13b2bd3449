#!/usr/bin/env python3
"""Draws the scaling rows of scripts/bench.sh (BENCH_SCALING_TSV) as an SVG chart: apply's
wall time and peak memory against the number of secrets, one line per added latency, both
axes logarithmic. Standard library only.

    BENCH_SCALING_TSV=scaling.tsv scripts/bench.sh
    scripts/plot-scaling.py scaling.tsv > docs/scaling.svg
"""

import csv
import math
import sys

WIDTH, HEIGHT = 760, 330
PANEL_W, PANEL_H = 300, 220
COLOURS = {"0": "#1f77b4", "20": "#d62728"}


def load(path):
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            rows.setdefault(row["latency_ms"], []).append(
                (int(row["secrets"]), int(row["wall_ms"]), int(row["peak_kb"]) / 1024)
            )
    for series in rows.values():
        series.sort()
    return rows


def log_ticks(low, high):
    start, end = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return [10**e for e in range(start, end + 1)]


def panel(x0, y0, title, unit, rows, pick):
    points = [(s[0], pick(s)) for series in rows.values() for s in series]
    xs = log_ticks(min(p[0] for p in points), max(p[0] for p in points))
    ys = log_ticks(max(min(p[1] for p in points), 1), max(p[1] for p in points))

    def sx(v):
        span = math.log10(xs[-1]) - math.log10(xs[0]) or 1
        return x0 + (math.log10(v) - math.log10(xs[0])) / span * PANEL_W

    def sy(v):
        span = math.log10(ys[-1]) - math.log10(ys[0]) or 1
        return y0 + PANEL_H - (math.log10(max(v, ys[0])) - math.log10(ys[0])) / span * PANEL_H

    out = [f'<text x="{x0 + PANEL_W / 2}" y="{y0 - 12}" text-anchor="middle" font-weight="bold">{title}</text>']
    for x in xs:
        out.append(f'<line x1="{sx(x):.1f}" y1="{y0}" x2="{sx(x):.1f}" y2="{y0 + PANEL_H}" stroke="#ddd"/>')
        out.append(f'<text x="{sx(x):.1f}" y="{y0 + PANEL_H + 16}" text-anchor="middle">{x:,}</text>')
    for y in ys:
        out.append(f'<line x1="{x0}" y1="{sy(y):.1f}" x2="{x0 + PANEL_W}" y2="{sy(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:,}</text>')
    out.append(f'<text x="{x0 + PANEL_W / 2}" y="{y0 + PANEL_H + 34}" text-anchor="middle">secrets, each with a grant</text>')
    out.append(f'<text x="{x0 - 48}" y="{y0 + PANEL_H / 2}" text-anchor="middle" transform="rotate(-90 {x0 - 48} {y0 + PANEL_H / 2})">{unit}</text>')
    for latency, series in sorted(rows.items(), key=lambda kv: int(kv[0])):
        colour = COLOURS.get(latency, "#333")
        path = " ".join(f"{sx(s[0]):.1f},{sy(pick(s)):.1f}" for s in series)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for s in series:
            out.append(f'<circle cx="{sx(s[0]):.1f}" cy="{sy(pick(s)):.1f}" r="3" fill="{colour}"/>')
    return out


def main():
    rows = load(sys.argv[1])
    body = [f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>']
    body += panel(80, 40, "apply: wall time", "ms", rows, lambda s: s[1])
    body += panel(450, 40, "apply: peak memory", "MB", rows, lambda s: round(s[2]))
    for i, latency in enumerate(sorted(rows, key=int)):
        colour = COLOURS.get(latency, "#333")
        y = 20 + i * 16
        body.append(f'<line x1="{WIDTH - 150}" y1="{y}" x2="{WIDTH - 130}" y2="{y}" stroke="{colour}" stroke-width="2"/>')
        body.append(f'<text x="{WIDTH - 124}" y="{y + 4}">{latency} ms latency</text>')
    print(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'font-family="sans-serif" font-size="11">'
    )
    print("\n".join(body))
    print("</svg>")


if __name__ == "__main__":
    main()
