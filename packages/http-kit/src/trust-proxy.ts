import { isIP } from 'node:net';
import { z } from 'zod';

/** proxy-addr's names for address ranges, which Fastify's `trustProxy` accepts in a list. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrRange(entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (version === 4 ? 32 : 128);
}

/** Fastify's `trustProxy`: nobody, the named proxies, or the nearest n hops. */
export type TrustProxy = false | string[] | ((address: string, hop: number) => boolean);

/**
 * TRUST_PROXY, for Fastify's `trustProxy`: which peers are proxies whose X-Forwarded-For names the
 * client. `false` (the default): the peer is the client and the header is ignored. A number: that
 * many proxy hops in front of the app. A comma-separated list of addresses, CIDRs or the names
 * loopback, linklocal, uniquelocal: only those peers are believed. `true` is refused: it would let
 * any client choose the address its limits count against.
 */
export const trustProxySchema = z
  .string()
  .default('false')
  .transform((value, context): TrustProxy => {
    const text = value.trim();
    if (text === '' || text === 'false' || text === '0') return false;
    if (/^\d+$/.test(text)) {
      // What Fastify does for a number, typed: the nearest `hops` peers are proxies.
      const hops = Number(text);
      return (_address: string, hop: number) => hop < hops;
    }
    const entries = text
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    const invalid = entries.filter((entry) => !isAddressOrRange(entry));
    if (text === 'true' || invalid.length > 0) {
      context.addIssue({
        code: 'custom',
        message:
          text === 'true'
            ? 'TRUST_PROXY=true would believe any client: name the proxies (addresses or CIDRs) or count the hops'
            : `not an address, CIDR or range name: ${invalid.join(', ')}`,
      });
      return z.NEVER;
    }
    return entries;
  });
