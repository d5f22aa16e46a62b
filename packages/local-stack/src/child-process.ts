import type { ChildProcess } from 'node:child_process';

export interface SupervisedChild {
  /** Every non-empty line the process printed, stdout and stderr (only with `keepOutput`). */
  readonly output: string[];
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (SIGTERM by default), then SIGKILL after `killAfterMs`; resolves once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface SuperviseOptions {
  /** Each non-empty line the process prints. */
  onLine?: (line: string) => void;
  /** Keep the lines for an error message (a short-lived helper; the apps' logs are not kept). */
  keepOutput?: boolean;
  /** How long a stopped process may drain before it is killed. */
  killAfterMs: number;
}

/** Line-wise output and a bounded stop for a child spawned with piped stdout and stderr. */
export function superviseChild(child: ChildProcess, options: SuperviseOptions): SupervisedChild {
  const output: string[] = [];
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      if (options.keepOutput) output.push(line);
      options.onLine?.(line);
    }
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const killLater = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs).unref();
      await exited;
      clearTimeout(killLater);
    },
  };
}
