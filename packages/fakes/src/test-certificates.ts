import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM file paths of a throwaway PKI: one CA, a server and a client certificate it signed, and a stranger CA. */
export interface TestCertificates {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** The DNS name in the server certificate (its only subject alternative name). */
  serverName: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A CA that signed nothing here: a client that trusts only it must refuse the server. */
  otherCaFile: string;
}

const TEST_SERVER_NAME = 'temporal.autoflow.test';

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    throw new Error(`openssl ${args[0]} failed (is openssl installed?): ${String(error)}`);
  }
}

/** A new P-256 key and a two-day certificate for it (`req -x509`), with `options` added to the request. */
async function makeKeyAndCertificate(
  dir: string,
  name: string,
  options: string[],
): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    ...options,
  ]);
  return { cert, key };
}

/** A self-signed CA. */
function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  return makeKeyAndCertificate(dir, name, [
    '-subj',
    `/CN=autoflow ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** A leaf certificate signed by `ca` (OpenSSL 3's `req -x509 -CA`). */
function makeLeaf(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  extensions: string[],
): Promise<{ cert: string; key: string }> {
  return makeKeyAndCertificate(dir, name, [
    '-subj',
    `/CN=${name}`,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature',
    ...extensions.flatMap((extension) => ['-addext', extension]),
  ]);
}

/**
 * Makes the certificates for a TLS / mTLS test in `dir` with the `openssl` command (node:crypto
 * cannot sign certificates). Nothing here is trusted outside the test that made it.
 */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const ca = await makeCa(dir, 'test-ca');
  const other = await makeCa(dir, 'other-ca');
  const server = await makeLeaf(dir, 'temporal-frontend', ca, [
    `subjectAltName=DNS:${TEST_SERVER_NAME}`,
    // The server's own system worker presents this certificate to the frontend as a client too.
    'extendedKeyUsage=serverAuth,clientAuth',
  ]);
  const client = await makeLeaf(dir, 'autoflow-app', ca, ['extendedKeyUsage=clientAuth']);
  return {
    caFile: ca.cert,
    serverCertFile: server.cert,
    serverKeyFile: server.key,
    serverName: TEST_SERVER_NAME,
    clientCertFile: client.cert,
    clientKeyFile: client.key,
    otherCaFile: other.cert,
  };
}
