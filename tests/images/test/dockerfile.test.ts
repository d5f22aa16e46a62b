import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandVariables, mapAbsolutePaths, parseDockerfile, runDockerfile } from '../src/dockerfile.js';

/** The Dockerfile runner itself: what images.test.ts relies on to run the recipes faithfully. */

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'autoflow-dockerfile-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const refuse = (message: string): never => {
  throw new Error(message);
};

describe('parseDockerfile', () => {
  it('joins continuations, drops comments (also inside a continuation) and keeps line numbers', () => {
    const instructions = parseDockerfile(
      ['# a comment', 'FROM node:24 AS base', '', 'RUN a \\', '# inside', ' && b', 'cmd ["node"]'].join('\n'),
    );
    expect(instructions).toEqual([
      { keyword: 'FROM', args: 'node:24 AS base', line: 2 },
      { keyword: 'RUN', args: 'a  && b', line: 4 },
      { keyword: 'CMD', args: '["node"]', line: 7 },
    ]);
  });

  it('refuses a file that ends inside a continuation', () => {
    expect(() => parseDockerfile('RUN a \\')).toThrow(/continuation/);
  });
});

describe('expandVariables', () => {
  it('expands braced, bare and defaulted variables, unknown ones to nothing', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile variables, not a template
    expect(expandVariables('node:${V}-slim $APP ${X:-fallback} ${Y}', { V: '24', APP: 'worker' })).toBe(
      'node:24-slim worker fallback ',
    );
  });
});

describe('mapAbsolutePaths', () => {
  it('points the image folders into the stage and refuses any other absolute path', () => {
    expect(mapAbsolutePaths('deploy --prod /app && ls out/x', '/tmp/s', new Set(['app']), refuse)).toBe(
      'deploy --prod /tmp/s/app && ls out/x',
    );
    expect(() => mapAbsolutePaths('rm -rf /etc', '/tmp/s', new Set(['app']), refuse)).toThrow(/\/etc/);
  });
});

describe('runDockerfile', () => {
  it('runs stages in order: ARGs, ENV, WORKDIR, COPY from the context and from a stage, RUN, USER, CMD', async () => {
    const context = join(workDir, 'context');
    await runDockerfile('FROM scratch\nRUN mkdir -p folder && echo hello > folder/greeting', {
      dockerfile: 'setup',
      context: workDir,
      workDir: context,
      runEnv: { PATH: process.env.PATH ?? '' },
      onGlobalInstall: () => {},
    });
    const installed: string[][] = [];
    const stages = await runDockerfile(
      [
        'ARG GREETING_DIR=folder',
        'FROM node:24-slim AS base',
        'RUN npm install -g tool@2',
        'WORKDIR /repo',
        'FROM base AS build',
        'ARG GREETING_DIR',
        'ARG NAME',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, not a template
        'COPY ${GREETING_DIR}/ ./',
        'RUN cat greeting > "from-$NAME" && mkdir -p /out && cp "from-$NAME" /out/',
        'FROM node:24-slim',
        'ENV NODE_ENV=production HOST=0.0.0.0',
        'WORKDIR /out',
        'COPY --from=build /out ./',
        'USER node',
        'CMD ["node", "server.js"]',
      ].join('\n'),
      {
        dockerfile: 'Dockerfile',
        context: join(context, '0-stage-0'),
        workDir: join(workDir, 'stages'),
        buildArgs: { NAME: 'test' },
        runEnv: { PATH: process.env.PATH ?? '' },
        onGlobalInstall: (packages) => {
          installed.push(packages);
        },
      },
    );
    expect(installed).toEqual([['tool@2']]);
    const image = stages.at(-1);
    expect(image).toMatchObject({
      baseImage: 'node:24-slim',
      workdir: '/out',
      env: { NODE_ENV: 'production', HOST: '0.0.0.0' },
      user: 'node',
      cmd: ['node', 'server.js'],
    });
    expect(await readFile(join(image?.workdirPath ?? '', 'from-test'), 'utf8')).toBe('hello\n');
    expect(stages[1]).toMatchObject({ name: 'build', baseImage: 'node:24-slim', workdir: '/repo' });
  });

  it('stops at a failing RUN step and at an instruction it does not understand', async () => {
    const options = {
      dockerfile: 'Dockerfile',
      context: workDir,
      workDir: join(workDir, 'failing'),
      runEnv: { PATH: process.env.PATH ?? '' },
      onGlobalInstall: () => {},
    };
    await expect(runDockerfile('FROM scratch\nRUN echo broken >&2 && exit 3', options)).rejects.toThrow(
      /exit 3\):\nbroken/,
    );
    await expect(runDockerfile('FROM scratch\nHEALTHCHECK CMD true', options)).rejects.toThrow(
      /not understood/,
    );
    await expect(
      runDockerfile('FROM scratch\nRUN sleep 60 & sleep 60', { ...options, stepTimeoutMs: 200 }),
    ).rejects.toThrow(/killed after 200 ms/);
    await writeFile(join(workDir, 'file'), '');
    await expect(runDockerfile('FROM scratch\nCOPY --chown=node file ./', options)).rejects.toThrow(
      /--chown=node is not understood/,
    );
  });
});

describe('.dockerignore', () => {
  it('leaves out everything .gitignore does, so the context Docker sends is the one the image test builds', async () => {
    const root = join(import.meta.dirname, '..', '..', '..');
    const lines = (text: string) =>
      text
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith('#'));
    const dockerignore = new Set(lines(await readFile(join(root, '.dockerignore'), 'utf8')));
    // git: a pattern with no slash but a trailing one matches at any depth; Docker needs `**/` for that.
    const expected = lines(await readFile(join(root, '.gitignore'), 'utf8')).map((pattern) => {
      const bare = pattern.replace(/\/$/, '');
      return bare.includes('/') ? bare : `**/${bare}`;
    });
    expect(expected.filter((pattern) => !dockerignore.has(pattern))).toEqual([]);
    expect(dockerignore.has('.git')).toBe(true);
  });
});
