import { type ChildProcess, spawn } from 'node:child_process';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { superviseChild } from './child-process.js';

/**
 * The dev server's flags, in one place. Each one is a measured latency or throughput decision
 * (see bench/README.md); the dev server's defaults are tuned for a laptop demo, not for dispatch speed.
 */
export const TEMPORAL_DEV_SERVER_FLAGS: readonly string[] = [
  // The single history shard loads its transfer queue at most 20 times a second by default, so every
  // task dispatch waits ~35 ms (a one-activity run: 150 ms). 1000/s brings that run to ~47 ms.
  '--dynamic-config-value',
  'history.transferProcessorMaxPollRPS=1000',
  // The same limit on the timer queue delays every retry backoff and timeout.
  '--dynamic-config-value',
  'history.timerProcessorMaxPollRPS=1000',
  // An activity on the workflow's own queue comes back with the workflow task's completion: one
  // dispatch less for queued actions on the main queue. (HTTP runs as a local activity: no dispatch.)
  '--dynamic-config-value',
  'system.enableActivityEagerExecution=true',
  // Task-queue fairness (Temporal 1.29): tasks are dispatched in turn across fairness keys (tenants,
  // provider accounts), and a provider queue limits each account to its quota (design notes §11).
  '--dynamic-config-value',
  'matching.enableFairness=true',
  // One partition per task queue: tasks meet a waiting poller instead of a partition without one.
  '--dynamic-config-value',
  'matching.numTaskqueueReadPartitions=1',
  '--dynamic-config-value',
  'matching.numTaskqueueWritePartitions=1',
  // WAL lets readers (visibility, UI) proceed while history is written.
  '--sqlite-pragma',
  'journal_mode=wal',
  '--sqlite-pragma',
  'synchronous=normal',
  '--log-level',
  'warn',
];

/**
 * The environment every Temporal server process gets (dev server, real server, bench; compose sets the
 * same). GOGC=400 lets the Go heap grow to five times its live size between collections instead of
 * twice: on 2 cores the server's CPU per run fell by about a fifth (bench/README.md, "GOGC"), for a few
 * hundred MiB more memory at most.
 */
export const TEMPORAL_SERVER_ENV: Readonly<Record<string, string>> = { GOGC: '400' };

export interface TemporalDevServerOptions {
  cliPath: string;
  port: number;
  /** Web UI port; the UI is off when absent. */
  uiPort?: number;
  /** SQLite file for durable state; in memory when absent. */
  dbFile?: string;
  namespaces?: readonly string[];
  /** What the server inherits under TEMPORAL_SERVER_ENV (the caller's environment); nothing when unset. */
  inheritedEnv?: Readonly<Record<string, string | undefined>>;
  onOutput?: (line: string) => void;
}

export interface RunningTemporal {
  address: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Polls until the frontend answers a real RPC, not just an open port (over TLS when `tls` is given). */
export async function waitForTemporal(
  address: string,
  timeoutMs = 60_000,
  tls?: ConnectionOptions['tls'],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, tls, connectTimeout: 1_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`Temporal at ${address} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<RunningTemporal> {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    ...TEMPORAL_DEV_SERVER_FLAGS,
  ];
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  for (const namespace of options.namespaces ?? []) args.push('--namespace', namespace);

  const child = spawn(options.cliPath, args, {
    env: { ...options.inheritedEnv, ...TEMPORAL_SERVER_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { exited, stop } = superviseChild(child, {
    ...(options.onOutput ? { onLine: options.onOutput } : {}),
    killAfterMs: 5_000,
  });
  const address = `127.0.0.1:${options.port}`;
  try {
    await Promise.race([
      waitForTemporal(address),
      exited.then(() => {
        throw new Error(`the Temporal dev server exited early (code ${child.exitCode})`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, process: child, stop };
}
