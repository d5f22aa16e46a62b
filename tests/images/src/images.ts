import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFile, lstat, mkdir, readFile, readlink, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { superviseChild } from '@autoflow/local-stack';
import { parse } from 'yaml';
import type { StageResult } from './dockerfile.js';

const run = promisify(execFile);

/**
 * The build context `docker build .` would send: the working tree's tracked files and its untracked
 * ones git does not ignore (.dockerignore repeats .gitignore), uncommitted edits included.
 */
export async function copyBuildContext(repoRoot: string, target: string): Promise<number> {
  const { stdout } = await run('git', ['ls-files', '-z', '-co', '--exclude-standard', '--deduplicate'], {
    cwd: repoRoot,
    maxBuffer: 64 * 1024 * 1024,
  });
  let copied = 0;
  for (const path of stdout.split('\0')) {
    if (!path) continue;
    const source = join(repoRoot, path);
    // Deleted in the working tree but still tracked: Docker would not see it either.
    const sourceStat = await lstat(source).catch(() => undefined);
    if (!sourceStat) continue;
    const destination = join(target, path);
    await mkdir(dirname(destination), { recursive: true });
    if (sourceStat.isSymbolicLink()) await symlink(await readlink(source), destination);
    else await copyFile(source, destination);
    copied += 1;
  }
  return copied;
}

/** The size of a folder as `du -sk` counts it (what the image's last layer holds), in bytes. */
export async function folderSize(path: string): Promise<number> {
  const { stdout } = await run('du', ['-sk', path]);
  return Number(stdout.split(/\s/)[0]) * 1024;
}

/**
 * Files and folders another user (the image's `USER node`, which owns none of them) could not read or
 * enter: Docker's COPY keeps the modes and makes root the owner.
 */
export async function unreadableByOthers(path: string): Promise<string[]> {
  const { stdout } = await run(
    'find',
    [path, '(', '-type', 'f', '!', '-perm', '-o=r', ')', '-o', '(', '-type', 'd', '!', '-perm', '-o=rx', ')'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout.split('\n').filter(Boolean);
}

export interface StartedImage {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: string[];
  stop(): Promise<number | null>;
}

/**
 * Starts an image's CMD as `docker run` would: from its WORKDIR, with its ENV plus `env`, and nothing
 * inherited from this process. `node` is this machine's Node (the test checks the image's major).
 */
export function startImage(image: StageResult, env: Record<string, string>): StartedImage {
  const [command, ...args] = image.cmd;
  if (command !== 'node') throw new Error(`${image.name}: the test only runs node commands, not ${command}`);
  const child = spawn(process.execPath, args, {
    cwd: image.workdirPath,
    env: { PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`, ...image.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { exited, output, stop } = superviseChild(child, { keepOutput: true, killAfterMs: 15_000 });
  return {
    child,
    exited,
    output,
    async stop() {
      await stop();
      return exited;
    },
  };
}

/** Polls `url` until it answers 200; throws if the process exits first or the time runs out. */
export async function waitForOk(url: string, started: StartedImage, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void started.exited.then((code) => {
    exitCode = code;
  });
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new Error(
        `exited with code ${exitCode} before ${url} answered 200:\n${started.output.join('\n')}`,
      );
    try {
      const response = await fetch(url);
      if (response.status === 200) return;
      last = `${response.status} ${await response.text()}`;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `${url} did not answer 200 within ${timeoutMs} ms (last: ${last}):\n${started.output.join('\n')}`,
  );
}

export interface ComposeBuild {
  service: string;
  /** The build context, relative to the compose file. */
  context: string;
  dockerfile: string;
  args: Record<string, string>;
}

/** Every service docker-compose.yml builds (rather than pulls), with its Dockerfile and build args. */
export async function composeBuilds(composeFile: string): Promise<ComposeBuild[]> {
  const compose: unknown = parse(await readFile(composeFile, 'utf8'), { merge: true });
  const builds: ComposeBuild[] = [];
  for (const [service, definition] of entries(member(compose, 'services'))) {
    const build = member(definition, 'build');
    if (build === undefined) continue;
    builds.push({
      service,
      context: String(member(build, 'context') ?? '.'),
      dockerfile: String(member(build, 'dockerfile') ?? 'Dockerfile'),
      args: Object.fromEntries(entries(member(build, 'args')).map(([name, value]) => [name, String(value)])),
    });
  }
  return builds;
}

function entries(value: unknown): [string, unknown][] {
  return typeof value === 'object' && value !== null ? Object.entries(value) : [];
}

function member(value: unknown, key: string): unknown {
  return entries(value).find(([name]) => name === key)?.[1];
}
