import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createSecureServer } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { makeTestCertificates, type TestCertificates } from '@autoflow/fakes';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeTemporalConnection,
  resolveTemporalConnection,
  type TemporalConnectionSettings,
  TemporalConnectionSettingsError,
  temporalConnectError,
  temporalConnectionEnvSchema,
  tlsHandshakeFailure,
} from '../src/index.js';

let dir: string;
let certs: TestCertificates;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'temporal-connection-'));
  certs = await makeTestCertificates(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const address = '127.0.0.1:7233';
const settings = (more: Partial<TemporalConnectionSettings> = {}): TemporalConnectionSettings => ({
  TEMPORAL_ADDRESS: address,
  ...more,
});

async function refusal(more: Partial<TemporalConnectionSettings>): Promise<string> {
  try {
    await resolveTemporalConnection(settings(more));
  } catch (error) {
    expect(error).toBeInstanceOf(TemporalConnectionSettingsError);
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('the settings were accepted');
}

describe('the env schema', () => {
  it('treats empty variables as unset and refuses an unknown TEMPORAL_TLS', () => {
    expect(temporalConnectionEnvSchema.parse({ TEMPORAL_TLS_CA_FILE: '', TEMPORAL_API_KEY: '' })).toEqual({});
    expect(temporalConnectionEnvSchema.safeParse({ TEMPORAL_TLS: 'yes' }).success).toBe(false);
  });
});

describe('resolveTemporalConnection', () => {
  it('is plaintext with nothing set (the dev server)', async () => {
    expect(await resolveTemporalConnection(settings())).toEqual({ address });
  });

  it('reads the CA, the client certificate and its key from files, with the server name', async () => {
    const options = await resolveTemporalConnection(
      settings({
        TEMPORAL_TLS_CA_FILE: certs.caFile,
        TEMPORAL_TLS_SERVER_NAME: certs.serverName,
        TEMPORAL_TLS_CERT_FILE: certs.clientCertFile,
        TEMPORAL_TLS_KEY_FILE: certs.clientKeyFile,
      }),
    );
    expect(options).toEqual({
      address,
      tls: {
        serverRootCACertificate: await readFile(certs.caFile),
        serverNameOverride: certs.serverName,
        clientCertPair: {
          crt: await readFile(certs.clientCertFile),
          key: await readFile(certs.clientKeyFile),
        },
      },
    });
    expect(describeTemporalConnection(options)).toEqual({
      address,
      tls: 'mutual',
      privateCa: true,
      serverName: certs.serverName,
      apiKey: false,
    });
  });

  it('takes PEM text too, with \\n escapes as platforms inject them', async () => {
    const ca = await readFile(certs.caFile, 'utf8');
    const options = await resolveTemporalConnection(
      settings({ TEMPORAL_TLS_CA_PEM: ca.trim().replaceAll('\n', '\\n') }),
    );
    expect(options.tls?.serverRootCACertificate?.toString('utf8')).toBe(ca.trim());
    expect(options.tls?.clientCertPair).toBeUndefined();
  });

  it('sends an API key over TLS, with the namespace header Temporal Cloud routes by', async () => {
    const options = await resolveTemporalConnection(settings({ TEMPORAL_API_KEY: 'key-123' }), {
      namespace: 'prod.abc12',
    });
    expect(options).toEqual({
      address,
      tls: {},
      apiKey: 'key-123',
      metadata: { 'temporal-namespace': 'prod.abc12' },
    });
    expect(JSON.stringify(describeTemporalConnection(options))).not.toContain('key-123');
  });

  it('turns TLS on with TEMPORAL_TLS=true alone (a certificate from a public CA)', async () => {
    expect(await resolveTemporalConnection(settings({ TEMPORAL_TLS: 'true' }))).toEqual({ address, tls: {} });
  });

  it('refuses settings that cannot work, naming the variable', async () => {
    expect(await refusal({ TEMPORAL_TLS_CA_FILE: certs.caFile, TEMPORAL_TLS_CA_PEM: 'x' })).toBe(
      'set TEMPORAL_TLS_CA_FILE or TEMPORAL_TLS_CA_PEM, not both',
    );
    expect(await refusal({ TEMPORAL_TLS_CA_FILE: join(dir, 'missing.pem') })).toBe(
      `TEMPORAL_TLS_CA_FILE: cannot read ${join(dir, 'missing.pem')} (ENOENT)`,
    );
    const notPem = join(dir, 'not.pem');
    await writeFile(notPem, 'hello');
    expect(await refusal({ TEMPORAL_TLS_CA_FILE: notPem })).toBe(
      'TEMPORAL_TLS_CA_FILE is not a PEM X.509 certificate',
    );
    expect(await refusal({ TEMPORAL_TLS_CERT_FILE: certs.clientCertFile })).toMatch(/^mTLS needs both/);
    expect(await refusal({ TEMPORAL_TLS_KEY_FILE: certs.clientKeyFile })).toMatch(/^mTLS needs both/);
    expect(
      await refusal({
        TEMPORAL_TLS_CERT_FILE: certs.clientCertFile,
        TEMPORAL_TLS_KEY_FILE: certs.serverKeyFile,
      }),
    ).toBe('TEMPORAL_TLS_KEY_FILE is not the key of TEMPORAL_TLS_CERT_FILE');
    expect(
      await refusal({
        TEMPORAL_TLS_CERT_FILE: certs.clientCertFile,
        TEMPORAL_TLS_KEY_FILE: certs.clientCertFile,
      }),
    ).toBe('TEMPORAL_TLS_KEY_FILE is not an unencrypted PEM private key');
    expect(await refusal({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA_FILE: certs.caFile })).toBe(
      'TEMPORAL_TLS=false contradicts the TEMPORAL_TLS_* settings given',
    );
    expect(await refusal({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })).toBe(
      'TEMPORAL_TLS=false with TEMPORAL_API_KEY would send the key in clear text',
    );
  });
});

describe('why a TLS connection failed', () => {
  let server: Server;
  let serverAddress: string;

  beforeAll(async () => {
    server = createServer({
      cert: await readFile(certs.serverCertFile),
      key: await readFile(certs.serverKeyFile),
      ca: await readFile(certs.caFile),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    });
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const listening = server.address();
    serverAddress = `127.0.0.1:${typeof listening === 'object' && listening ? listening.port : 0}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const mtls = async (more: Partial<TemporalConnectionSettings> = {}) =>
    resolveTemporalConnection({
      TEMPORAL_ADDRESS: serverAddress,
      TEMPORAL_TLS_CA_FILE: certs.caFile,
      TEMPORAL_TLS_SERVER_NAME: certs.serverName,
      TEMPORAL_TLS_CERT_FILE: certs.clientCertFile,
      TEMPORAL_TLS_KEY_FILE: certs.clientKeyFile,
      ...more,
    });

  it('finds nothing wrong with matching settings', async () => {
    expect(await tlsHandshakeFailure(await mtls())).toBeUndefined();
  });

  it('names a CA that does not match, a wrong server name and a missing client certificate', async () => {
    expect(await tlsHandshakeFailure(await mtls({ TEMPORAL_TLS_CA_FILE: certs.otherCaFile }))).toMatch(
      /unable to verify|self.signed|issuer/i,
    );
    expect(await tlsHandshakeFailure(await mtls({ TEMPORAL_TLS_SERVER_NAME: 'other.example' }))).toMatch(
      /altnames|does not match/i,
    );
    expect(
      await tlsHandshakeFailure(
        await mtls({ TEMPORAL_TLS_CERT_FILE: undefined, TEMPORAL_TLS_KEY_FILE: undefined }),
      ),
    ).toMatch(/certificate required/i);
  });

  it('puts the handshake’s reason and the variables to check in the start-up error', async () => {
    const options = await mtls({ TEMPORAL_TLS_CA_FILE: certs.otherCaFile });
    const error = await temporalConnectError(options, new Error('Failed to connect before the deadline'));
    expect(error.message).toMatch(
      new RegExp(
        `^cannot connect to Temporal at ${serverAddress} \\(tls: mutual, api key: no\\): TLS handshake failed: `,
      ),
    );
    expect(error.message).toContain('check TEMPORAL_TLS_CA_FILE');
    const plain = await temporalConnectError({ address }, new Error('connection refused'));
    expect(plain.message).toBe(
      `cannot connect to Temporal at ${address} (tls: off, api key: no): connection refused`,
    );
  });
});

describe('an API key on the wire', () => {
  it('reaches the frontend as a bearer token, with the namespace header, over TLS only', async () => {
    const seen: Record<string, unknown>[] = [];
    const server = createSecureServer({
      cert: await readFile(certs.serverCertFile),
      key: await readFile(certs.serverKeyFile),
    });
    server.on('stream', (stream, headers) => {
      seen.push({ ...headers });
      // A gRPC answer the client gives up on: what matters is what it sent.
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16' },
        { endStream: true },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const listening = server.address();
    const port = typeof listening === 'object' && listening ? listening.port : 0;
    try {
      const options = await resolveTemporalConnection(
        {
          TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
          TEMPORAL_TLS_CA_FILE: certs.caFile,
          TEMPORAL_TLS_SERVER_NAME: certs.serverName,
          TEMPORAL_API_KEY: 'key-123',
        },
        { namespace: 'prod.abc12' },
      );
      await Connection.connect({ ...options, connectTimeout: 3_000 }).then(
        (connection) => connection.close(),
        () => undefined,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toMatchObject({
      ':scheme': 'https',
      authorization: 'Bearer key-123',
      'temporal-namespace': 'prod.abc12',
    });
  });
});
