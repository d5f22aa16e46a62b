import fastifyRateLimit, {
  type FastifyRateLimitStore,
  type FastifyRateLimitStoreCtor,
  normalizeIP,
} from '@fastify/rate-limit';
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { problems } from './problem.js';

// Abuse limits that hold across replicas: @fastify/rate-limit decides and answers, the counts live in a
// store every process shares (Postgres, through @autoflow/db's postgresRateLimitCounter).

/** Counts hits of a key in fixed windows, shared by every process of the deployment. */
export interface RateLimitCounter {
  hit(key: string, windowMs: number): Promise<{ hits: number; resetsInMs: number }>;
}

export interface RateLimitRule {
  /** Requests allowed per window; the next one answers 429. */
  max: number;
  windowMs: number;
}

/** @fastify/rate-limit's store over the shared counter. Keys carry their scope, so routes share one store. */
function sharedStore(counter: RateLimitCounter): FastifyRateLimitStoreCtor {
  return class SharedStore implements FastifyRateLimitStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      counter.hit(key, timeWindow).then(
        ({ hits, resetsInMs }) => callback(null, { current: hits, ttl: resetsInMs }),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  };
}

const retryAfterSeconds = (resetsInMs: number) => Math.max(1, Math.ceil(resetsInMs / 1000));

const tooMany = (seconds: number) =>
  problems.tooManyRequests(`too many attempts; retry in ${seconds} second${seconds === 1 ? '' : 's'}`);

/**
 * Per-client-address limits on routes (checked on request, before the body is read) and per-subject
 * limits inside handlers (e.g. per account, before a password is hashed), all counted in the shared
 * store. The client address is `request.ip`: the peer, or what a trusted proxy forwarded (TRUST_PROXY).
 * When the store cannot be reached the request fails rather than going unlimited.
 */
export class SharedRateLimits {
  constructor(private readonly counter: RateLimitCounter) {}

  /** Installs @fastify/rate-limit for the routes that ask for a limit (none by default: not health probes). */
  async register(app: FastifyInstance): Promise<void> {
    await app.register(fastifyRateLimit, {
      global: false,
      store: sharedStore(this.counter),
      // Thrown as problem+json; the plugin has already set Retry-After.
      errorResponseBuilder: (_request, context) => tooMany(retryAfterSeconds(context.ttl)),
    });
  }

  /** Route config: at most `rule.max` requests per window and client address (IPv6 per /64). */
  perAddress(scope: string, rule: RateLimitRule): FastifyContextConfig {
    return {
      rateLimit: {
        max: rule.max,
        timeWindow: rule.windowMs,
        keyGenerator: (request: FastifyRequest) => `${scope}:address:${normalizeIP(request.ip)}`,
      },
    };
  }

  /** Counts one attempt on `subject` (an account's email, …); throws a 429 problem past the rule's max. */
  async consume(reply: FastifyReply, scope: string, subject: string, rule: RateLimitRule): Promise<void> {
    const { hits, resetsInMs } = await this.counter.hit(`${scope}:subject:${subject}`, rule.windowMs);
    if (hits <= rule.max) return;
    const seconds = retryAfterSeconds(resetsInMs);
    reply.header('retry-after', String(seconds));
    throw tooMany(seconds);
  }
}
