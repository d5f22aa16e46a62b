import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCertificates, Sink, type TestCertificates } from '@autoflow/fakes';
import {
  APP_NAMES,
  type AppName,
  freePort,
  type RunningTemporal,
  spawnApp,
  startTemporalServer,
  waitUntilReady,
} from '@autoflow/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field, http, System, waitFor } from '../src/system.js';

// The apps against the real Temporal server 1.29.1 (the dev server has no TLS flags) whose frontend
// requires mTLS, with a CA, server and client certificates made here. Issue 12, part 4.

const sink = new Sink();
let dir: string;
let certs: TestCertificates;
let temporal: RunningTemporal;
let system: System;

/** What every app is given to reach the mTLS frontend. */
function mtlsEnv(): Record<string, string> {
  return {
    TEMPORAL_TLS_CA_FILE: certs.caFile,
    TEMPORAL_TLS_SERVER_NAME: certs.serverName,
    TEMPORAL_TLS_CERT_FILE: certs.clientCertFile,
    TEMPORAL_TLS_KEY_FILE: certs.clientKeyFile,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'temporal-tls-'));
  certs = await makeTestCertificates(dir);
  // How the test itself reaches the frontend (to wait for it and create the namespace).
  const clientTls = {
    serverRootCACertificate: await readFile(certs.caFile),
    serverNameOverride: certs.serverName,
    clientCertPair: { crt: await readFile(certs.clientCertFile), key: await readFile(certs.clientKeyFile) },
  };
  temporal = await startTemporalServer({
    tls: {
      certFile: certs.serverCertFile,
      keyFile: certs.serverKeyFile,
      serverName: certs.serverName,
      caFile: certs.caFile,
      clientCaFile: certs.caFile,
    },
    clientTls,
    inheritedEnv: process.env,
  });
  await sink.start();
  system = new System({
    allowedHosts: [sink.hostPort],
    temporal: { address: temporal.address, tls: clientTls },
    env: mtlsEnv(),
  });
  await system.start();
}, 180_000);

afterAll(async () => {
  await system?.stop();
  await sink.stop();
  await temporal?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts one app with `env` over the running system's and waits for it to exit; answers its code and output. */
async function startExpectingExit(
  name: AppName,
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; output: string }> {
  const lines: string[] = [];
  const merged: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...system.launched.env, ...env }))
    if (value !== undefined) merged[key] = value;
  const app = spawnApp({ name, port: await freePort(), env: merged, onLine: (_, line) => lines.push(line) });
  const code = await Promise.race([
    app.exited,
    new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 60_000).unref()),
  ]);
  if (code === 'running') {
    await app.stop('SIGKILL');
    throw new Error(`${name} was still running after 60 s:\n${lines.join('\n')}`);
  }
  return { code, output: lines.join('\n') };
}

describe('authenticated connections to Temporal', () => {
  it('runs a webhook → HTTP run end to end with every app on mTLS', async () => {
    for (const app of APP_NAMES) expect((await http('GET', system.url(app, '/readyz'))).status).toBe(200);

    const { token } = await system.signUp();
    const { id: workflowId, hookUrl } = await system.createActiveWorkflow(token, {
      name: 'over mTLS',
      trigger: { serviceProvider: 'webhook', triggerId: 'receive', config: {} },
      action: {
        serviceProvider: 'http',
        actionId: 'request',
        config: { method: 'POST', url: `${sink.baseUrl}/tls`, body: { hello: '{{trigger.body.name}}' } },
      },
    });

    const hook = await http('POST', hookUrl, {
      body: { name: 'Ada' },
      headers: { 'webhook-id': 'evt-tls-1' },
    });
    expect(hook.status).toBe(202);

    const [execution] = await waitFor('the run to finish', async () => {
      const executions = await system.executions(token, workflowId);
      return executions.some((execution) => field(execution, 'status') !== 'running')
        ? executions
        : undefined;
    });
    expect(field(execution, 'status')).toBe('completed');
    expect(field(execution, 'actionResult', 'status')).toBe(200);
    expect(sink.forPath('/tls').map((request) => request.body)).toEqual([{ hello: 'Ada' }]);
  });

  it('every app refuses to start when the CA does not match the server certificate', async () => {
    const results = await Promise.all(
      APP_NAMES.map(async (name) => ({
        name,
        ...(await startExpectingExit(name, { TEMPORAL_TLS_CA_FILE: certs.otherCaFile })),
      })),
    );
    for (const result of results) {
      expect(result.code, `${result.name}: ${result.output}`).not.toBe(0);
      expect(result.output, result.name).toContain(`cannot connect to Temporal at ${temporal.address}`);
      // The reason, not gRPC's bare "Failed to connect before the deadline".
      expect(result.output, result.name).toMatch(
        /TLS handshake failed: .*(unable to verify|self.signed|issuer)/i,
      );
      expect(result.output, result.name).toContain('check TEMPORAL_TLS_CA_FILE');
    }
  });

  it('an app without a client certificate is refused by the mTLS frontend', async () => {
    const result = await startExpectingExit('trigger-ingest', {
      TEMPORAL_TLS_CERT_FILE: undefined,
      TEMPORAL_TLS_KEY_FILE: undefined,
    });
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toMatch(
      /cannot connect to Temporal at .*TLS handshake failed: .*certificate required/,
    );
  });

  it('an app with a key that is not its certificate’s stops before connecting, naming the variable', async () => {
    const result = await startExpectingExit('api-gateway', { TEMPORAL_TLS_KEY_FILE: certs.serverKeyFile });
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toContain('TEMPORAL_TLS_KEY_FILE is not the key of TEMPORAL_TLS_CERT_FILE');
  });

  it('connects with TLS alone (CA and server name) to a frontend that asks no client certificate', async () => {
    const tlsOnly = await startTemporalServer({
      tls: {
        certFile: certs.serverCertFile,
        keyFile: certs.serverKeyFile,
        serverName: certs.serverName,
        caFile: certs.caFile,
      },
      clientTls: {
        serverRootCACertificate: await readFile(certs.caFile),
        serverNameOverride: certs.serverName,
      },
      inheritedEnv: process.env,
    });
    try {
      const app = spawnApp({
        name: 'trigger-ingest',
        port: await freePort(),
        env: {
          ...system.launched.env,
          TEMPORAL_ADDRESS: tlsOnly.address,
          TEMPORAL_TLS_CA_FILE: certs.caFile,
          TEMPORAL_TLS_SERVER_NAME: certs.serverName,
          TEMPORAL_TLS_CERT_FILE: '',
          TEMPORAL_TLS_KEY_FILE: '',
        },
      });
      try {
        await waitUntilReady(app);
        expect((await http('GET', `${app.baseUrl}/readyz`)).status).toBe(200);
      } finally {
        await app.stop();
      }
      // The same app in plaintext is refused by the TLS frontend.
      const plaintext = await startExpectingExit('trigger-ingest', {
        TEMPORAL_ADDRESS: tlsOnly.address,
        TEMPORAL_TLS_CA_FILE: undefined,
        TEMPORAL_TLS_SERVER_NAME: undefined,
        TEMPORAL_TLS_CERT_FILE: undefined,
        TEMPORAL_TLS_KEY_FILE: undefined,
      });
      expect(plaintext.code, plaintext.output).not.toBe(0);
      expect(plaintext.output).toContain(`cannot connect to Temporal at ${tlsOnly.address} (tls: off`);
    } finally {
      await tlsOnly.stop();
    }
  });
});
