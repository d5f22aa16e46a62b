import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { freePort, REPO_ROOT } from '../src/apps.js';

const CLI = join(REPO_ROOT, 'packages', 'local-stack', 'dist', 'cli.js');
const TEMPORAL_CLI = process.env.TEMPORAL_CLI_PATH ?? join(REPO_ROOT, '.tools', 'bin', 'temporal');

/** Whether something accepts connections on the loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

it.skipIf(!existsSync(TEMPORAL_CLI))(
  '`up` exits non-zero and stops the Temporal dev server it started when migrations fail',
  async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'stack-up-'));
    const temporalPort = await freePort();
    const child = spawn(process.execPath, [CLI, 'up'], {
      env: {
        ...process.env,
        // Nothing listens on port 1: the migrations cannot connect.
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/autoflow',
        TEMPORAL_ADDRESS: '',
        TEMPORAL_CLI_PATH: TEMPORAL_CLI,
        LOCAL_TEMPORAL_PORT: String(temporalPort),
        LOCAL_TEMPORAL_UI_PORT: '0',
        LOCAL_STACK_DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that whatever it leaves behind can be cleaned up below.
      detached: true,
    });
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    cleanup = async () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone: nothing was left behind
      }
      await rm(dataDir, { recursive: true, force: true });
    };

    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    const log = output.join('');
    expect(log).toContain('applying migrations');
    expect(code, log).not.toBe(0);
    expect(code, log).not.toBeNull();
    expect(await listening(temporalPort)).toBe(false);
  },
  90_000,
);
