import { DecryptionError } from '@autoflow/crypto';
import { type Credential, credentials, type Workflow, workflows } from '@autoflow/db';
import { authenticate, problemResponse, problemResponses, problems } from '@autoflow/http-kit';
import { CredentialNeedsReconnectError } from '@autoflow/oauth';
import { TokenRejectedError } from '@autoflow/provider-registry';
import { and, asc, eq, gt, or } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decodeCursor, encodeCursor, rowId } from '../cursor.js';
import type { ApiGatewayDeps } from '../deps.js';
import { idParam, pageOf, pageQuery } from '../schemas.js';

/** Credentials are listed oldest first by id, as before pagination. */
const credentialCursor = z.tuple([rowId]);

const secured = [{ bearer: [] }];

const credentialSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    serviceProvider: z.string(),
    scopes: z.array(z.string()),
    status: z.enum(['valid', 'needs_reconnect']),
    expiresAt: z.string().nullable(),
  })
  .meta({
    examples: [
      {
        id: 3,
        name: 'Team Slack',
        serviceProvider: 'slack',
        scopes: ['chat:write'],
        status: 'valid',
        expiresAt: null,
      },
    ],
  });

/** What a frontend may see of a credential: never a token or secret. */
function toCredentialView(row: Credential): z.infer<typeof credentialSchema> {
  return {
    id: row.id,
    name: row.name,
    serviceProvider: row.serviceProvider,
    scopes: row.scope ? row.scope.split(/[\s,]+/).filter(Boolean) : [],
    status: row.isValid && row.accessToken ? 'valid' : 'needs_reconnect',
    expiresAt: row.expiresAt?.toISOString() ?? null,
  };
}

/** What `/test` answers: the account, or why it could not tell. */
interface TestResult {
  ok: boolean;
  account?: string;
  reason?: string;
}

/** The provider refused the token; `reason` is what `/test` answers if a renewed token is refused too. */
class IdentityRefusedError extends TokenRejectedError {
  constructor(readonly reason: string) {
    super(`the identity call was refused: ${reason}`);
  }
}

/** The provider's cheap identity call (Gmail's getProfile, Slack's auth.test) with one token. */
async function identityCall(
  identity: { url: string; accountField: string },
  accessToken: string,
): Promise<TestResult> {
  const response = await fetch(identity.url, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(5_000),
  }).catch(() => undefined);
  if (response?.status === 401) {
    await response.body?.cancel().catch(() => {});
    throw new IdentityRefusedError('provider_answered_401');
  }
  if (!response?.ok)
    return {
      ok: false,
      reason: response ? `provider_answered_${response.status}` : 'provider_unreachable',
    };
  const body: unknown = await response.json().catch(() => null);
  const fields = typeof body === 'object' && body !== null ? Object.fromEntries(Object.entries(body)) : {};
  // Slack answers 200 with {ok: false} when it refuses a token; invalid_auth and the like are worth a renewal.
  if (fields.ok === false) {
    if (typeof fields.error === 'string' && SLACK_REJECTED_TOKEN.has(fields.error))
      throw new IdentityRefusedError('provider_refused');
    return { ok: false, reason: 'provider_refused' };
  }
  const account = fields[identity.accountField];
  return typeof account === 'string' ? { ok: true, account } : { ok: true };
}

/** Slack's errors for a token it no longer honours. */
const SLACK_REJECTED_TOKEN = new Set(['invalid_auth', 'token_expired', 'token_revoked']);

export const credentialRoutes: FastifyPluginAsyncZod<ApiGatewayDeps> = async (app, deps) => {
  const { db, tokens, keyring, listeners, schedules } = deps;

  /** Another user's credential answers 404, exactly like a missing one. */
  async function findOwnCredential(userId: number, id: number): Promise<Credential> {
    const [row] = await db
      .select()
      .from(credentials)
      .where(and(eq(credentials.id, id), eq(credentials.userId, userId)));
    if (!row) throw problems.notFound('credential');
    return row;
  }

  /** Best effort (RFC 7009): a provider that is down must not keep a user from deleting a credential. */
  async function revokeAtProvider(row: Credential, log: FastifyBaseLogger): Promise<void> {
    const revokeUrl = deps.oauthProviders.get(row.serviceProvider)?.revokeUrl;
    const sealed = row.refreshToken ?? row.accessToken;
    if (!revokeUrl || !sealed) return;
    const column = row.refreshToken ? 'refresh_token' : 'access_token';
    try {
      const token = await keyring.decrypt(sealed, { table: 'credentials', column, row: row.id });
      const response = await fetch(revokeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }),
        signal: AbortSignal.timeout(5_000),
      });
      if (!response.ok)
        log.warn({ credentialId: row.id, status: response.status }, 'revocation refused by the provider');
    } catch (error) {
      log.warn({ credentialId: row.id, err: error }, 'revocation at the provider failed');
    }
  }

  app.get(
    '/api/credentials',
    {
      schema: {
        tags: ['credentials'],
        operationId: 'listCredentials',
        summary: 'The caller’s connected accounts (never a token or secret)',
        security: secured,
        querystring: pageQuery,
        response: { 200: pageOf(credentialSchema) },
      },
    },
    async (request) => {
      const userId = await authenticate(tokens, request);
      const { limit, cursor } = request.query;
      const after = decodeCursor(cursor, credentialCursor);
      const rows = await db
        .select()
        .from(credentials)
        .where(and(eq(credentials.userId, userId), after ? gt(credentials.id, after[0]) : undefined))
        .orderBy(asc(credentials.id))
        .limit(limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(toCredentialView),
        nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null,
      };
    },
  );

  app.post(
    '/api/credentials/:id/test',
    {
      schema: {
        tags: ['credentials'],
        operationId: 'testCredential',
        summary: 'Checks a credential with the provider’s identity call',
        description:
          "Calls the provider's identity endpoint with the credential's token. A token the provider refuses " +
          'before its stored expiry is refreshed once and the call made once more; a refused refresh token ' +
          'marks the credential needs_reconnect and answers `{ok: false, reason: "credential_needs_reconnect"}`.',
        security: secured,
        params: idParam,
        response: {
          200: z
            .object({ ok: z.boolean(), account: z.string().optional(), reason: z.string().optional() })
            .meta({ examples: [{ ok: true, account: 'ada@example.com' }] }),
          ...problemResponses(404),
          503: problemResponse(
            503,
            'The key provider cannot open the token (`key_provider_unavailable`); try again later.',
          ),
        },
      },
    },
    async (request) => {
      const userId = await authenticate(tokens, request);
      const row = await findOwnCredential(userId, request.params.id);
      const identity = deps.oauthProviders.get(row.serviceProvider)?.identity;
      if (!identity) return { ok: false, reason: 'provider_has_no_identity_call' };
      try {
        // A token the provider dropped before its expiry is renewed once and the call made once more.
        return await deps.credentials.withAccessToken(row.id, userId, (accessToken) =>
          identityCall(identity, accessToken),
        );
      } catch (error) {
        if (error instanceof CredentialNeedsReconnectError) return { ok: false, reason: error.code };
        if (error instanceof DecryptionError) return { ok: false, reason: 'credential_unreadable' };
        if (error instanceof IdentityRefusedError) return { ok: false, reason: error.reason };
        throw error;
      }
    },
  );

  app.delete(
    '/api/credentials/:id',
    {
      schema: {
        tags: ['credentials'],
        operationId: 'deleteCredential',
        summary: 'Deletes a credential; workflows that use it are deactivated, their schedules paused',
        security: secured,
        params: idParam,
        response: {
          204: z.null().describe('Deleted.'),
          ...problemResponses(404),
          503: problemResponse(
            503,
            'The schedules using it could not be paused; nothing was deleted. Try again.',
          ),
        },
      },
    },
    async (request, reply) => {
      const userId = await authenticate(tokens, request);
      const row = await findOwnCredential(userId, request.params.id);
      const usesCredential = and(
        eq(workflows.userId, userId),
        or(eq(workflows.triggerCredentialsId, row.id), eq(workflows.actionCredentialsId, row.id)),
      );
      // Schedules first, as when a workflow is deleted: a schedule left firing would start runs that
      // can only fail without the credential. Nothing is deleted when Temporal cannot be told.
      const paused = new Set<number>();
      const pauseSchedules = (rows: Workflow[]) =>
        Promise.all(
          rows
            .filter((workflow) => schedules.isScheduled(workflow) && !paused.has(workflow.id))
            .map(async (workflow) => {
              await schedules.pause(workflow.id, `credential ${row.id} was deleted`);
              paused.add(workflow.id);
            }),
        );
      try {
        await pauseSchedules(await db.select().from(workflows).where(usesCredential));
      } catch (error) {
        request.log.error({ err: error, credentialId: row.id }, 'could not pause the schedules');
        throw problems.unavailable('the schedules using this credential could not be paused; try again');
      }
      await revokeAtProvider(row, request.log);
      // Workflows that used it are deactivated rather than left to fail on every event.
      const deactivated = await db.transaction(async (tx) => {
        const affected = await tx
          .update(workflows)
          .set({ isActive: false, updatedAt: new Date() })
          .where(usesCredential)
          .returning();
        await tx.delete(credentials).where(eq(credentials.id, row.id));
        return affected;
      });
      try {
        // A workflow that started using the credential meanwhile.
        await pauseSchedules(deactivated);
      } catch (error) {
        request.log.error({ err: error, credentialId: row.id }, 'could not pause a schedule');
      }
      try {
        // A mailbox workflow of this account finds no subscriber left, and ends.
        await listeners.changed(...deactivated);
      } catch (error) {
        request.log.warn({ err: error }, 'could not tell the listener; it stops at its next renewal');
      }
      return reply.code(204).send(null);
    },
  );
};
