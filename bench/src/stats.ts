/** Nearest-rank percentile of latencies in ms. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

export interface ThroughputResult {
  concurrency: number;
  completed: number;
  seconds: number;
  perSecond: number;
  /** CPU ms per completed run, by process. */
  cpuMsPerRun?: Record<string, number>;
}

/** Runs `concurrency` loops of `once` for `seconds`; counts what completed inside the window. */
export async function sustained(
  concurrency: number,
  seconds: number,
  once: (loop: number, iteration: number) => Promise<void>,
): Promise<ThroughputResult> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let completed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      for (let iteration = 0; performance.now() < deadline; iteration++) {
        await once(loop, iteration);
        if (performance.now() <= deadline) completed++;
      }
    }),
  );
  const elapsed = (Math.min(performance.now(), deadline) - start) / 1000;
  return { concurrency, completed, seconds: elapsed, perSecond: completed / elapsed };
}
