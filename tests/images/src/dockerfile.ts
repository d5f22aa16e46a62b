import { spawn } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';

/**
 * Runs a Dockerfile's steps on this machine, without Docker, so a test can build what an image would
 * hold and start it. Each stage gets its own folder standing for its filesystem root; RUN steps run
 * with `sh -c` in the stage's WORKDIR, with its ENV and ARGs as environment, as Docker runs them.
 * Only the instructions the project's Dockerfiles use are understood; anything else throws, so a
 * recipe cannot drift past what this runs.
 */

export interface Instruction {
  keyword: string;
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

/** Splits a Dockerfile into instructions: comments dropped, `\` continuations joined as Docker does. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trimEnd();
    const trimmed = line.trimStart();
    // Comment lines end nothing: inside a continuation Docker skips them too.
    if (trimmed.startsWith('#') || (trimmed === '' && pending === '')) continue;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1);
      continue;
    }
    pending += line;
    const match = /^\s*(\S+)\s*(.*)$/s.exec(pending);
    if (match?.[1])
      instructions.push({ keyword: match[1].toUpperCase(), args: match[2] ?? '', line: startLine });
    pending = '';
  }
  if (pending) throw new Error(`line ${startLine}: the file ends inside a \\ continuation`);
  return instructions;
}

/** `${NAME}`, `${NAME:-default}` and `$NAME`, as Docker expands them in FROM, COPY, WORKDIR, ENV and ARG. */
export function expandVariables(
  text: string,
  variables: Readonly<Record<string, string | undefined>>,
): string {
  return text.replace(
    /\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g,
    (_whole, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
      const value = variables[braced ?? bare ?? ''];
      return value === undefined || value === '' ? (fallback ?? '') : value;
    },
  );
}

export interface StageResult {
  name: string;
  /** The external image the stage starts from (through its parent stages), e.g. `node:24-bookworm-slim`. */
  baseImage: string;
  /** The folder standing for the stage's `/`. */
  root: string;
  /** WORKDIR, as the image has it (`/app`). */
  workdir: string;
  /** WORKDIR on this machine. */
  workdirPath: string;
  env: Record<string, string>;
  user: string;
  /** CMD in exec form; empty when the stage sets none. */
  cmd: string[];
}

export interface RunDockerfileOptions {
  dockerfile: string;
  /** The build context (`docker build <context>`). */
  context: string;
  /** Where the stages' folders go (one subfolder each). */
  workDir: string;
  buildArgs?: Record<string, string>;
  /** What RUN steps see besides the stage's ENV and ARGs (PATH, HOME, tool settings). */
  runEnv: Record<string, string>;
  /**
   * Stands in for a `RUN npm install -g <packages>` step (tools of the base image): check that the
   * machine's tools match instead of installing anything globally here.
   */
  onGlobalInstall: (packages: string[]) => void | Promise<void>;
  onOutput?: (line: string) => void;
  /** A RUN step still going after this long is killed with everything it started (default 10 minutes). */
  stepTimeoutMs?: number;
  /** Timings of each RUN step, for the report. */
  onStep?: (step: { line: number; command: string; seconds: number }) => void;
}

interface Stage {
  name: string;
  baseImage: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  args: Record<string, string>;
  user: string;
  cmd: string[];
}

/** Runs every stage in order and answers them all; the image is the last one. */
export async function runDockerfile(text: string, options: RunDockerfileOptions): Promise<StageResult[]> {
  const instructions = parseDockerfile(text);
  const buildArgs = options.buildArgs ?? {};
  // ARGs before the first FROM: visible to FROM lines, and to a stage that redeclares them.
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  // The absolute folders the recipe names (WORKDIR, COPY); RUN steps may name these and no others.
  const knownRoots = new Set<string>();
  for (const { keyword, args } of instructions) {
    const paths = keyword === 'WORKDIR' ? [args] : keyword === 'COPY' ? args.split(/\s+/) : [];
    for (const path of paths) {
      const top = /^\/([^/\s]+)/.exec(path)?.[1];
      if (top) knownRoots.add(top);
    }
  }

  let stage: Stage | undefined;
  for (const instruction of instructions) {
    const where = `${basename(options.dockerfile)}:${instruction.line}`;
    const fail = (message: string): never => {
      throw new Error(`${where} ${instruction.keyword} ${instruction.args}: ${message}`);
    };
    if (instruction.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args.trim());
      if (!match?.[1] || match[1].startsWith('--')) fail('only `FROM <image> [AS <name>]` is understood');
      const image = expandVariables(match?.[1] ?? '', globalArgs);
      const name = match?.[2] ?? `stage-${stages.length}`;
      const parent = stages.find((candidate) => candidate.name === image);
      const root = join(options.workDir, `${stages.length}-${name}`);
      await mkdir(root, { recursive: true });
      if (parent) await copyTree(parent.root, root);
      stage = {
        name,
        baseImage: parent?.baseImage ?? image,
        root,
        workdir: parent?.workdir ?? '/',
        env: { ...parent?.env },
        args: {},
        user: parent?.user ?? 'root',
        cmd: [...(parent?.cmd ?? [])],
      };
      stages.push(stage);
      continue;
    }
    if (instruction.keyword === 'ARG' && !stage) {
      const [name, fallback] = splitAssignment(instruction.args.trim());
      globalArgs[name] = buildArgs[name] ?? fallback ?? '';
      continue;
    }
    if (!stage) return fail('comes before any FROM');
    const variables = { ...stage.env, ...stage.args };
    switch (instruction.keyword) {
      case 'ARG': {
        const [name, fallback] = splitAssignment(instruction.args.trim());
        const value = buildArgs[name] ?? fallback ?? globalArgs[name];
        if (value !== undefined) stage.args[name] = value;
        break;
      }
      case 'ENV': {
        for (const pair of instruction.args.trim().split(/\s+/)) {
          const [name, value] = splitAssignment(pair);
          if (value === undefined) fail('only `ENV NAME=value ...` is understood');
          stage.env[name] = expandVariables(value ?? '', variables);
        }
        break;
      }
      case 'WORKDIR': {
        const workdir = expandVariables(instruction.args.trim(), variables);
        stage.workdir = posix.resolve(stage.workdir, workdir);
        await mkdir(join(stage.root, stage.workdir), { recursive: true });
        break;
      }
      case 'COPY': {
        const words = expandVariables(instruction.args.trim(), variables).split(/\s+/);
        let from: Stage | undefined;
        while (words[0]?.startsWith('--')) {
          const flag = words.shift() ?? '';
          const fromName = /^--from=(.+)$/.exec(flag)?.[1];
          if (!fromName) fail(`the flag ${flag} is not understood`);
          from = stages.find((candidate) => candidate.name === fromName);
          if (!from) fail(`no earlier stage is called ${fromName}`);
        }
        const destination = words.pop();
        if (!destination || words.length === 0) return fail('needs a source and a destination');
        const target = join(stage.root, posix.resolve(stage.workdir, destination));
        for (const source of words) {
          if (/[*?[]/.test(source)) fail('wildcards are not understood');
          const sourcePath = from
            ? join(from.root, posix.resolve('/', source))
            : join(options.context, source);
          const sourceStat = await stat(sourcePath).catch(() => fail(`${sourcePath} does not exist`));
          if (sourceStat.isDirectory()) {
            // Docker copies a folder's contents, not the folder itself.
            await mkdir(target, { recursive: true });
            await copyTree(sourcePath, target);
          } else {
            const intoFolder = destination.endsWith('/') || destination === '.' || words.length > 1;
            const fileTarget = intoFolder ? join(target, basename(sourcePath)) : target;
            await mkdir(intoFolder ? target : join(fileTarget, '..'), { recursive: true });
            await copyTree(sourcePath, fileTarget);
          }
        }
        break;
      }
      case 'RUN': {
        const command = instruction.args.trim();
        if (command.startsWith('[')) fail('only the shell form of RUN is understood');
        const globalInstall = /^npm install -g ((?:\S+\s*)+)$/.exec(command);
        if (globalInstall?.[1]) {
          await options.onGlobalInstall(globalInstall[1].trim().split(/\s+/));
          break;
        }
        if (command.includes('npm install -g')) fail('`npm install -g` must be a RUN step of its own');
        const mapped = mapAbsolutePaths(command, stage.root, knownRoots, fail);
        const started = performance.now();
        await runProcess('/bin/sh', ['-c', mapped], {
          cwd: join(stage.root, stage.workdir),
          env: { ...options.runEnv, ...stage.env, ...stage.args },
          onOutput: options.onOutput,
          timeoutMs: options.stepTimeoutMs ?? 600_000,
          what: where,
        });
        options.onStep?.({
          line: instruction.line,
          command,
          seconds: (performance.now() - started) / 1000,
        });
        break;
      }
      case 'USER':
        stage.user = instruction.args.trim();
        break;
      case 'CMD': {
        const parsed: unknown = JSON.parse(instruction.args);
        if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === 'string'))
          return fail('only the exec form (a JSON array of strings) is understood');
        stage.cmd = parsed.map(String);
        break;
      }
      default:
        fail('this instruction is not understood by the test');
    }
  }
  if (stages.length === 0) throw new Error(`${options.dockerfile} has no FROM`);
  return stages.map((built) => ({
    name: built.name,
    baseImage: built.baseImage,
    root: built.root,
    workdir: built.workdir,
    workdirPath: join(built.root, built.workdir),
    env: built.env,
    user: built.user,
    cmd: built.cmd,
  }));
}

function splitAssignment(text: string): [string, string | undefined] {
  const equals = text.indexOf('=');
  if (equals < 0) return [text, undefined];
  return [text.slice(0, equals), text.slice(equals + 1).replace(/^"(.*)"$/, '$1')];
}

/**
 * Points the absolute paths of a RUN step (`deploy ... /app`) into the stage's folder. Only the
 * folders the recipe itself names are known; any other absolute path would reach this machine's own
 * filesystem, so it throws.
 */
export function mapAbsolutePaths(
  command: string,
  stageRoot: string,
  knownRoots: ReadonlySet<string>,
  fail: (message: string) => never,
): string {
  return command.replace(/(^|[\s=])(\/[^\s;&|'"()]*)/g, (_whole, before: string, path: string) => {
    const top = /^\/([^/]+)/.exec(path)?.[1];
    if (!top || !knownRoots.has(top)) fail(`the absolute path ${path} is not a folder of the image`);
    return `${before}${join(stageRoot, path)}`;
  });
}

/** Copies a file or a folder's contents as `cp -a` does: modes, and symlinks as symlinks. */
async function copyTree(source: string, target: string): Promise<void> {
  const sourceStat = await stat(source);
  await runProcess('cp', ['-a', sourceStat.isDirectory() ? `${source}/.` : source, target], {
    what: `copy ${source}`,
  });
}

async function runProcess(
  file: string,
  args: string[],
  options: {
    cwd?: string;
    env?: Record<string, string>;
    onOutput?: ((line: string) => void) | undefined;
    timeoutMs?: number;
    what: string;
  },
): Promise<void> {
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env ?? { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a step that hangs is killed with everything it started.
    detached: true,
  });
  let timedOut = false;
  const timer = options.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // the group is already gone
        }
      }, options.timeoutMs)
    : undefined;
  const tail: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 80) tail.shift();
      options.onOutput?.(line);
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).finally(() => clearTimeout(timer));
  const outcome = timedOut ? `was killed after ${options.timeoutMs} ms` : `failed (exit ${code})`;
  if (code !== 0) throw new Error(`${options.what} ${outcome}:\n${tail.join('\n')}`);
}
