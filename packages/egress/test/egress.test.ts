import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEgressDispatcher, isPublicAddress, parseAllowedHosts } from '../src/index.js';

describe('isPublicAddress', () => {
  it.each([
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.100.100.200', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['fd00:ec2::254', false],
    ['::ffff:127.0.0.1', false],
    ['fe80::1', false],
    ['8.8.8.8', true],
    ['2001:4860:4860::8888', true],
  ])('%s → %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});

describe('createEgressDispatcher', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((_, response) => response.end('reached'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('server has no port');
    port = address.port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses loopback by literal address and by name', async () => {
    const dispatcher = createEgressDispatcher({ allowedHosts: new Set() });
    await expect(request(`http://127.0.0.1:${port}/`, { dispatcher })).rejects.toThrow(
      /not a public address/,
    );
    await expect(request(`http://localhost:${port}/`, { dispatcher })).rejects.toThrow(/non-public address/);
    await expect(request('http://[::1]:9/', { dispatcher })).rejects.toThrow(/not a public address/);
  });

  it('reaches an allow-listed host:port and nothing else on that host', async () => {
    const dispatcher = createEgressDispatcher({
      allowedHosts: parseAllowedHosts(` 127.0.0.1:${port} ,other:1`),
    });
    const response = await request(`http://127.0.0.1:${port}/`, { dispatcher });
    expect(await response.body.text()).toBe('reached');
    await expect(request(`http://127.0.0.1:${port + 1}/`, { dispatcher })).rejects.toThrow(
      /not a public address/,
    );
  });
});
