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

/** Runs `up` in its own process group (so that anything it leaves behind is killed after the test). */
async function startUp(env: Record<string, string>) {
  const dataDir = await mkdtemp(join(tmpdir(), 'stack-up-'));
  const temporalPort = await freePort();
  const child = spawn(process.execPath, [CLI, 'up'], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: '',
      TEMPORAL_CLI_PATH: TEMPORAL_CLI,
      LOCAL_TEMPORAL_PORT: String(temporalPort),
      LOCAL_TEMPORAL_UI_PORT: '0',
      LOCAL_STACK_DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
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
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, temporalPort, exited, log: () => output.join('') };
}

// Nothing listens on port 1: the migrations cannot connect.
const UNREACHABLE_DATABASE_URL = 'postgres://postgres@127.0.0.1:1/autoflow';

it.skipIf(!existsSync(TEMPORAL_CLI))(
  '`up` exits non-zero and stops the Temporal dev server it started when migrations fail',
  async () => {
    const up = await startUp({ DATABASE_URL: UNREACHABLE_DATABASE_URL });
    const code = await up.exited;
    expect(up.log()).toContain('applying migrations');
    expect(code, up.log()).not.toBe(0);
    expect(code, up.log()).not.toBeNull();
    expect(await listening(up.temporalPort)).toBe(false);
  },
  90_000,
);

it.skipIf(!existsSync(TEMPORAL_CLI))(
  '`up` stopped while the Temporal dev server is still starting stops it too',
  async () => {
    const up = await startUp({ DATABASE_URL: UNREACHABLE_DATABASE_URL });
    while (!up.log().includes('starting the Temporal dev server'))
      await new Promise((r) => setTimeout(r, 20));
    up.child.kill('SIGTERM');
    const code = await up.exited;
    expect(code, up.log()).toBe(0);
    expect(up.log()).not.toContain('applying migrations');
    expect(await listening(up.temporalPort)).toBe(false);
  },
  90_000,
);
