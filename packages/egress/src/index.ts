import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector } from 'undici';

// Outbound HTTP for actions. A user decides the URL, so without this guard a workflow could read
// the cloud metadata service or an internal admin port (SSRF). The check runs at connect time, on
// the addresses DNS actually returned, so a name that later resolves elsewhere (rebinding) is caught.

export class EgressRefusedError extends Error {
  override name = 'EgressRefusedError';
  readonly code = 'EGRESS_REFUSED';
}

/** Only globally routable unicast addresses: no loopback, private, link-local (metadata), CGNAT, reserved. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/** `host:port` pairs from HTTP_ACTION_ALLOWED_HOSTS (comma-separated). */
export function parseAllowedHosts(spec: string | undefined): Set<string> {
  return new Set(
    (spec ?? '')
      .split(',')
      .map((entry) => entry.trim().toLowerCase())
      .filter(Boolean),
  );
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = addresses.find((entry) => !isPublicAddress(entry.address));
    if (refused) {
      return callback(
        new EgressRefusedError(`${hostname} resolves to a non-public address (${refused.address})`),
        [],
      );
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(new EgressRefusedError(`${hostname} has no address`), []);
    callback(null, first.address, first.family);
  });
}

export interface EgressOptions {
  /** `host:port` pairs that may be reached even though they are loopback or private. */
  allowedHosts: ReadonlySet<string>;
  connectTimeoutMs?: number;
  /** Connections kept per origin; the worker runs many actions at once. */
  connectionsPerOrigin?: number;
}

function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80';
}

export function createEgressDispatcher(options: EgressOptions): Agent {
  const timeout = options.connectTimeoutMs ?? 10_000;
  const direct = buildConnector({ timeout });
  const guarded = buildConnector({ timeout, lookup: guardedLookup });
  const connect: buildConnector.connector = (target, callback) => {
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    const port = target.port || defaultPort(target.protocol);
    const hostPort = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
    if (options.allowedHosts.has(hostPort)) return direct(target, callback);
    // A literal address skips DNS, so the lookup guard would never see it.
    if (isIP(host)) {
      if (!isPublicAddress(host))
        return callback(new EgressRefusedError(`${host} is not a public address`), null);
      return direct(target, callback);
    }
    return guarded(target, callback);
  };
  return new Agent({ connect, connections: options.connectionsPerOrigin ?? 64 });
}
