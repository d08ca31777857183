// Reads the server's Prometheus text (/metrics) into latency histograms: tradingmcp_tool_call_latency_us_bucket
// {le, tool} (cumulative counts per upper bound, µs) → counts per bucket for the tools asked.

export interface Histogram {
  bounds: number[]; // upper bounds (µs), the last one Infinity
  counts: number[]; // per bucket (not cumulative)
  total: number;
}

const BUCKET = /^tradingmcp_tool_call_latency_us_bucket\{([^}]*)\}\s+([0-9.eE+-]+)/;

function labels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]] = m[2];
  return out;
}

/** The tool-call latency histogram of the tools ``pick`` accepts, summed, from a /metrics body. */
export function toolLatency(body: string, pick: (tool: string) => boolean): Histogram {
  const cumulative = new Map<number, number>();
  for (const line of body.split("\n")) {
    const m = BUCKET.exec(line);
    if (m === null) continue;
    const l = labels(m[1]);
    if (!pick(l.tool ?? "")) continue;
    const bound = l.le === "+Inf" ? Infinity : Number(l.le);
    cumulative.set(bound, (cumulative.get(bound) ?? 0) + Number(m[2]));
  }
  return fromCumulative(cumulative);
}

function fromCumulative(cumulative: Map<number, number>): Histogram {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const counts: number[] = [];
  let before = 0;
  for (const b of bounds) {
    const c = cumulative.get(b) ?? 0;
    counts.push(Math.max(0, c - before));
    before = c;
  }
  return { bounds, counts, total: before };
}

/** Samples (µs) into the bucket bounds of ``like`` (or the server's default bounds). */
export function bucketize(samplesUs: number[], bounds: number[]): Histogram {
  const counts = bounds.map(() => 0);
  for (const s of samplesUs) {
    const i = bounds.findIndex((b) => s <= b);
    counts[i === -1 ? bounds.length - 1 : i] += 1;
  }
  return { bounds, counts, total: samplesUs.length };
}

export const DEFAULT_BOUNDS_US = [50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, Infinity];

/** ``2000`` → ``"2 ms"``, ``50`` → ``"50 µs"``. */
export function usLabel(us: number): string {
  if (!Number.isFinite(us)) return "more";
  if (us >= 1e6) return `${us / 1e6} s`;
  if (us >= 1e3) return `${us / 1e3} ms`;
  return `${us} µs`;
}

/** The median's bucket bound of ``h`` (µs), or NaN when empty. */
export function medianBound(h: Histogram): number {
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i];
    if (seen * 2 >= h.total && h.total > 0) return h.bounds[i];
  }
  return NaN;
}
