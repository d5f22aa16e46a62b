import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { TemporalConnectionEnv } from './env.js';

/** The SDK's TLSConfig (@temporalio/client's and @temporalio/worker's `tls` option), structurally. */
export interface TemporalTlsConfig {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

/** Accepted as is by both `Connection.connect` and `NativeConnection.connect`. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TemporalTlsConfig;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export interface TemporalConnectionSettings extends TemporalConnectionEnv {
  TEMPORAL_ADDRESS: string;
}

/** A setting that cannot work; the message names the variable, never a secret's value. */
export class TemporalConnectionSettingsError extends Error {
  override name = 'TemporalConnectionSettingsError';
}

type PemVariable = 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY';

/** Reads a PEM from `<name>_FILE` (a path, read now) or `<name>_PEM` (the text); at most one of them. */
async function loadPem(settings: TemporalConnectionSettings, name: PemVariable): Promise<Buffer | undefined> {
  const path = settings[`${name}_FILE`];
  const text = settings[`${name}_PEM`];
  if (path !== undefined && text !== undefined)
    throw new TemporalConnectionSettingsError(`set ${name}_FILE or ${name}_PEM, not both`);
  if (text !== undefined) return Buffer.from(text.replaceAll('\\n', '\n'), 'utf8');
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new TemporalConnectionSettingsError(`${name}_FILE: cannot read ${path} (${reason})`);
  }
}

function sourceOf(settings: TemporalConnectionSettings, name: PemVariable): string {
  return settings[`${name}_FILE`] !== undefined ? `${name}_FILE` : `${name}_PEM`;
}

function parseCertificate(pem: Buffer, variable: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new TemporalConnectionSettingsError(`${variable} is not a PEM X.509 certificate`);
  }
}

/**
 * Turns an app's Temporal settings into the SDK's connection options: TLS with a private CA and a
 * server name, a client certificate for mTLS, an API key. Reads the PEM files now, so a missing
 * file, a certificate that is not one or a key that does not belong to its certificate stops the
 * app at start, naming the variable. Whether the server's certificate matches the CA is checked by
 * the connection itself (`Connection.connect` fails, and so does the app's start).
 */
export async function resolveTemporalConnection(
  settings: TemporalConnectionSettings,
  scope: { namespace?: string } = {},
): Promise<TemporalConnectionOptions> {
  const ca = await loadPem(settings, 'TEMPORAL_TLS_CA');
  const crt = await loadPem(settings, 'TEMPORAL_TLS_CERT');
  const key = await loadPem(settings, 'TEMPORAL_TLS_KEY');
  const serverName = settings.TEMPORAL_TLS_SERVER_NAME;
  const apiKey = settings.TEMPORAL_API_KEY;

  if (ca) parseCertificate(ca, sourceOf(settings, 'TEMPORAL_TLS_CA'));
  if ((crt === undefined) !== (key === undefined))
    throw new TemporalConnectionSettingsError(
      'mTLS needs both a client certificate (TEMPORAL_TLS_CERT_FILE or _PEM) and its key (TEMPORAL_TLS_KEY_FILE or _PEM)',
    );
  if (crt && key) {
    const certificate = parseCertificate(crt, sourceOf(settings, 'TEMPORAL_TLS_CERT'));
    let matches: boolean;
    try {
      matches = certificate.checkPrivateKey(createPrivateKey(key));
    } catch {
      throw new TemporalConnectionSettingsError(
        `${sourceOf(settings, 'TEMPORAL_TLS_KEY')} is not an unencrypted PEM private key`,
      );
    }
    if (!matches)
      throw new TemporalConnectionSettingsError(
        `${sourceOf(settings, 'TEMPORAL_TLS_KEY')} is not the key of ${sourceOf(settings, 'TEMPORAL_TLS_CERT')}`,
      );
  }

  const anyTlsSetting = ca !== undefined || crt !== undefined || serverName !== undefined;
  if (settings.TEMPORAL_TLS === 'false' && (anyTlsSetting || apiKey !== undefined))
    throw new TemporalConnectionSettingsError(
      apiKey !== undefined
        ? 'TEMPORAL_TLS=false with TEMPORAL_API_KEY would send the key in clear text'
        : 'TEMPORAL_TLS=false contradicts the TEMPORAL_TLS_* settings given',
    );
  const useTls = settings.TEMPORAL_TLS === 'true' || anyTlsSetting || apiKey !== undefined;

  const options: TemporalConnectionOptions = { address: settings.TEMPORAL_ADDRESS };
  if (useTls) {
    const tls: TemporalTlsConfig = {};
    if (ca) tls.serverRootCACertificate = ca;
    if (serverName) tls.serverNameOverride = serverName;
    if (crt && key) tls.clientCertPair = { crt, key };
    options.tls = tls;
  }
  if (apiKey !== undefined) {
    options.apiKey = apiKey;
    // Temporal Cloud routes API-key calls by this header; a self-hosted server ignores it.
    if (scope.namespace) options.metadata = { 'temporal-namespace': scope.namespace };
  }
  return options;
}

/** For the start-up log line: how the connection is secured, without any secret. */
export function describeTemporalConnection(options: TemporalConnectionOptions): Record<string, unknown> {
  return {
    address: options.address,
    tls: options.tls ? (options.tls.clientCertPair ? 'mutual' : 'server') : 'off',
    ...(options.tls?.serverRootCACertificate ? { privateCa: true } : {}),
    ...(options.tls?.serverNameOverride ? { serverName: options.tls.serverNameOverride } : {}),
    apiKey: options.apiKey !== undefined,
  };
}

/** host and port of a `host:port` / `[ipv6]:port` address; Temporal's port when none is given. */
function hostAndPort(address: string): { host: string; port: number } {
  const match = /^\[(.+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  return { host: match?.[1] ?? address, port: Number(match?.[2] ?? 7233) };
}

/**
 * One TLS handshake with the connection's settings, to say why the SDK could not connect: gRPC
 * reports a certificate the CA does not vouch for only as "Failed to connect before the deadline".
 * Answers the handshake's error, or undefined when it succeeds.
 */
export function tlsHandshakeFailure(
  options: TemporalConnectionOptions,
  timeoutMs = 5_000,
): Promise<string | undefined> {
  const { host, port } = hostAndPort(options.address);
  const tls = options.tls ?? {};
  const serverName = tls.serverNameOverride ?? (isIP(host) ? undefined : host);
  return new Promise((resolve) => {
    const socket = connectTls({
      host,
      port,
      ...(serverName ? { servername: serverName } : {}),
      ...(tls.serverRootCACertificate ? { ca: tls.serverRootCACertificate } : {}),
      ...(tls.clientCertPair ? { cert: tls.clientCertPair.crt, key: tls.clientCertPair.key } : {}),
      ALPNProtocols: ['h2'],
      timeout: timeoutMs,
    });
    const finish = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.once('error', (error) => finish(error.message));
    socket.once('timeout', () => finish(`no TLS answer within ${timeoutMs} ms`));
    // Under TLS 1.3 a server refuses a client certificate only after the client's handshake is done.
    socket.once('secureConnect', () => setTimeout(() => finish(undefined), 500).unref());
  });
}

/**
 * Wraps a failed connect in an error that says where and how the app tried to connect and, over
 * TLS, what the handshake objected to (a CA that does not match, a name not in the certificate, a
 * client certificate the server refuses), so the app's last log line names the cause.
 */
export async function temporalConnectError(
  options: TemporalConnectionOptions,
  cause: unknown,
): Promise<Error> {
  const how = describeTemporalConnection(options);
  const handshake = options.tls ? await tlsHandshakeFailure(options) : undefined;
  const reason = handshake
    ? `TLS handshake failed: ${handshake}`
    : cause instanceof Error
      ? cause.message
      : String(cause);
  const hint = options.tls
    ? ' (check TEMPORAL_TLS_CA_FILE / TEMPORAL_TLS_SERVER_NAME against the server certificate, and the client certificate for mTLS)'
    : '';
  return new Error(
    `cannot connect to Temporal at ${options.address} (tls: ${String(how.tls)}, api key: ${how.apiKey ? 'yes' : 'no'}): ${reason}${hint}`,
    { cause },
  );
}
