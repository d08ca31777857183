// Time-series charts on uPlot: a bounded window of points, redrawn at most once per animation frame, sized to their
// container. Histograms are plain bars in the DOM (labels stay readable text).

import uPlot from "uplot";
import { el } from "./dom";
import { type Histogram, usLabel } from "./metrics";

export interface Line {
  label: string;
  stroke: string;
  /** "y" (left axis, the default) or "y2" (its own axis on the right: a line of another size). */
  scale?: "y" | "y2";
}

export class TimeChart {
  private readonly xs: number[] = [];
  private readonly ys: (number | null)[][];
  private readonly plot: uPlot;
  private dirty = false;

  constructor(
    private readonly box: HTMLElement,
    lines: Line[],
    private readonly maxPoints = 1200,
    height = 220,
  ) {
    this.ys = lines.map(() => []);
    const opts: uPlot.Options = {
      width: Math.max(200, box.clientWidth),
      height,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: "#9aa4b2", grid: { stroke: "#2a3140" }, ticks: { stroke: "#2a3140" } },
        { stroke: "#9aa4b2", grid: { stroke: "#2a3140" }, ticks: { stroke: "#2a3140" }, size: 84 },
        ...(lines.some((l) => l.scale === "y2")
          ? [{ scale: "y2", side: 1 as const, stroke: "#9aa4b2", grid: { show: false }, ticks: { stroke: "#2a3140" }, size: 84 }]
          : []),
      ],
      series: [
        {},
        ...lines.map((l) => ({ label: l.label, stroke: l.stroke, width: 1.5, spanGaps: true, scale: l.scale ?? "y", points: { show: false } })),
      ],
    };
    this.plot = new uPlot(opts, [this.xs, ...this.ys] as uPlot.AlignedData, box);
    box.classList.add("sparse");
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(200, box.clientWidth), height })).observe(box);
  }

  /** Adds one point at ``tSeconds`` (a null value leaves that line's gap). */
  push(tSeconds: number, values: (number | null)[]): void {
    const last = this.xs.length - 1;
    if (last >= 0 && this.xs[last] === tSeconds) {
      values.forEach((v, i) => {
        if (v !== null) this.ys[i][last] = v;
      });
    } else {
      this.xs.push(tSeconds);
      values.forEach((v, i) => this.ys[i].push(v));
      if (this.xs.length > this.maxPoints) {
        this.xs.shift();
        for (const y of this.ys) y.shift();
      }
    }
    if (!this.dirty) {
      this.dirty = true;
      requestAnimationFrame(() => {
        this.dirty = false;
        this.plot.setData([this.xs, ...this.ys] as uPlot.AlignedData);
        this.box.classList.toggle("sparse", this.xs.length < 2); // one point makes no line, only odd axes
      });
    }
  }

  clear(): void {
    this.xs.length = 0;
    for (const y of this.ys) y.length = 0;
    this.plot.setData([this.xs, ...this.ys] as uPlot.AlignedData);
    this.box.classList.add("sparse");
  }

  get points(): number {
    return this.xs.length;
  }
}

/** Draws ``h`` as labelled horizontal bars into ``box`` (one row per bucket, empty leading/trailing buckets cut). */
export function drawHistogram(box: HTMLElement, title: string, h: Histogram, color: string): void {
  const fresh = el("div", "", "histogram");
  const head = el("div", `${title} — ${h.total} calls`, "histogram-title");
  fresh.append(head);
  let first = h.counts.findIndex((c) => c > 0);
  let last = h.counts.length - 1 - [...h.counts].reverse().findIndex((c) => c > 0);
  if (first === -1) {
    fresh.append(el("div", "no calls yet", "empty"));
    box.replaceChildren(fresh);
    return;
  }
  first = Math.max(0, first - 1);
  last = Math.min(h.counts.length - 1, last + 1);
  const top = Math.max(...h.counts);
  for (let i = first; i <= last; i++) {
    const row = el("div", "", "bar-row");
    const lower = i === 0 ? 0 : h.bounds[i - 1];
    row.append(el("span", Number.isFinite(h.bounds[i]) ? `≤ ${usLabel(h.bounds[i])}` : `> ${usLabel(lower)}`, "bar-label"));
    const bar = el("span", "", "bar");
    bar.style.width = `${top ? (100 * h.counts[i]) / top : 0}%`;
    bar.style.background = color;
    const track = el("span", "", "bar-track");
    track.append(bar);
    row.append(track, el("span", String(h.counts[i]), "bar-count"));
    fresh.append(row);
  }
  box.replaceChildren(fresh);
}
