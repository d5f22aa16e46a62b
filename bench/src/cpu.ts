import { readdir, readFile } from 'node:fs/promises';

// CPU time per process (utime + stime from /proc), to show where a run's cost goes.

const CLOCK_TICKS_PER_SECOND = 100;

async function cpuMsOf(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Every process whose command name is `name` (Postgres runs one per connection). */
async function pidsNamed(name: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readFile(`/proc/${entry}/comm`, 'utf8')).trim() === name) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

export type CpuSnapshot = Record<string, number>;

/** The bench process's own share in a snapshot: it drives every target alike, so targets' totals leave it out. */
export const BENCH_CLIENT = 'bench client';

/** `tracked` names processes by pid; Postgres and this process are added. */
export async function cpuSnapshot(tracked: Record<string, number | undefined>): Promise<CpuSnapshot> {
  const snapshot: CpuSnapshot = {};
  for (const [name, pid] of Object.entries(tracked)) if (pid) snapshot[name] = await cpuMsOf(pid);
  let postgres = 0;
  for (const pid of await pidsNamed('postgres')) postgres += await cpuMsOf(pid);
  snapshot.postgres = postgres;
  const self = process.cpuUsage();
  snapshot[BENCH_CLIENT] = (self.user + self.system) / 1000;
  return snapshot;
}

/** CPU ms per run, by process, between two snapshots. */
export function cpuPerRun(before: CpuSnapshot, after: CpuSnapshot, runs: number): Record<string, number> {
  const perRun: Record<string, number> = {};
  for (const [name, value] of Object.entries(after))
    perRun[name] = (value - (before[name] ?? 0)) / Math.max(1, runs);
  return perRun;
}

/**
 * Waits until the processes and Postgres use less than `thresholdMsPerSecond` of CPU over a second, twice
 * in a row, or `maxSeconds` pass: work left over from an earlier phase (Temporal's visibility and task
 * cleanup, autovacuum) would otherwise land on the next measurement. Resolves with the seconds waited.
 */
export async function waitForQuiet(
  tracked: Record<string, number | undefined>,
  options: { thresholdMsPerSecond: number; maxSeconds: number },
): Promise<number> {
  const started = performance.now();
  const busy = (snapshot: CpuSnapshot) =>
    Object.entries(snapshot).reduce((sum, [name, value]) => (name === BENCH_CLIENT ? sum : sum + value), 0);
  let quietSeconds = 0;
  let last = busy(await cpuSnapshot(tracked));
  while (quietSeconds < 2 && performance.now() - started < options.maxSeconds * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = busy(await cpuSnapshot(tracked));
    quietSeconds = now - last < options.thresholdMsPerSecond ? quietSeconds + 1 : 0;
    last = now;
  }
  return (performance.now() - started) / 1000;
}

export interface ProcessMemory {
  /** Resident set size now (VmRSS). */
  rssMiB: number;
  /** The highest resident set size the process has had (VmHWM). */
  peakRssMiB: number;
}

/** A process's memory from /proc/<pid>/status; NaN when it cannot be read. */
export async function memoryOf(pid: number | undefined): Promise<ProcessMemory> {
  let status = '';
  try {
    if (pid) status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    // the process ended
  }
  const mib = (field: string) => {
    const kib = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1];
    return kib ? Number(kib) / 1024 : Number.NaN;
  };
  return { rssMiB: mib('VmRSS'), peakRssMiB: mib('VmHWM') };
}
