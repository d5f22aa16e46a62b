import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../src/apps.js';

/** The `ports:` entries of one service of docker-compose.yml (the file keeps them on one line). */
function publishedPorts(compose: string, service: string): string[] {
  const block = new RegExp(`^  ${service}:\\n((?:    .*\\n|\\s*\\n)*)`, 'm').exec(compose)?.[1];
  if (block === undefined) throw new Error(`no service ${service} in docker-compose.yml`);
  const ports = /^ {4}ports: \[(.*)\]$/m.exec(block)?.[1];
  return ports ? [...ports.matchAll(/"([^"]+)"/g)].map((match) => match[1] ?? '') : [];
}

it('publishes the Temporal frontend and UI on loopback only: they authenticate nobody', async () => {
  const compose = await readFile(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
  for (const service of ['temporal', 'temporal-ui']) {
    const ports = publishedPorts(compose, service);
    for (const port of ports) expect(port, `${service} publishes ${port}`).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  }
  // The check above must have seen the entries it guards.
  expect(publishedPorts(compose, 'temporal')).toEqual(['127.0.0.1:7233:7233']);
  expect(publishedPorts(compose, 'temporal-ui')).toEqual(['127.0.0.1:8233:8080']);
});
