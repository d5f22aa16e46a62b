import { type Database, triggerListeners } from '@autoflow/db';
import { ProblemError, problemResponse, problems } from '@autoflow/http-kit';
import { decodeGmailPush, PushRejected } from '@autoflow/provider-gmail';
import {
  GMAIL_MAILBOX_SIGNALS,
  type GmailMailboxInput,
  type GmailNotification,
  gmailMailboxWorkflowId,
  TASK_QUEUES,
  WORKFLOW_TYPES,
} from '@autoflow/workflow-contracts';
import type { Client } from '@temporalio/client';
import { and, eq, sql } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

export interface GmailPushRouteDeps {
  db: Database;
  temporal: Client;
  /** Throws PushRejected unless the Authorization header carries a valid Pub/Sub OIDC token. */
  verifyPush: ((authorization: string | undefined) => Promise<void>) | undefined;
}

/**
 * POST /pubsub/gmail: Gmail's Pub/Sub push. It only announces `{emailAddress, historyId}` to the
 * mailbox workflow (signal-with-start), which reads the history itself. 2xx means Temporal has the
 * signal: a 503 makes Pub/Sub redeliver, and a malformed message is acknowledged, since no redelivery
 * can fix it.
 */
export const gmailPushRoutes: FastifyPluginAsyncZod<GmailPushRouteDeps> = async (
  app,
  { db, temporal, verifyPush },
) => {
  // Raw text: a malformed body is acknowledged and logged, not refused by the JSON parser.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) =>
    done(null, body),
  );

  app.post(
    '/pubsub/gmail',
    {
      schema: {
        tags: ['push'],
        operationId: 'receiveGmailPush',
        // Any content type: the route's own parser keeps the raw text (no 415).
        consumes: ['*/*'],
        summary: 'Gmail notifications from a Cloud Pub/Sub push subscription',
        description:
          'Authenticated by the OIDC token Pub/Sub sends (`Authorization: Bearer …`, checked against ' +
          'PUBSUB_PUSH_AUDIENCE and PUBSUB_PUSH_SERVICE_ACCOUNT). A malformed message is acknowledged (204): ' +
          'no redelivery can fix it.',
        // Documents the token only: verifyPush checks it, and no body schema runs, so a malformed message
        // is acknowledged rather than refused.
        headers: z.object({
          authorization: z
            .string()
            .optional()
            .describe('`Bearer` and the OIDC token Pub/Sub signs.')
            .meta({ examples: ['Bearer eyJhbGciOiJSUzI1NiJ9…'] }),
        }),
        response: {
          204: z.null().describe('Temporal has the notification (or it was malformed and is dropped).'),
          401: problemResponse(
            401,
            'No valid push token (`invalid_token`), or push is not configured (`push_not_configured`).',
          ),
          413: problemResponse(413, 'The body is over 64 KiB.'),
          503: problemResponse(503, 'Temporal did not accept the notification; Pub/Sub redelivers it.'),
        },
      },
    },
    async (request, reply) => {
      if (!verifyPush) {
        throw new ProblemError(
          401,
          'push_not_configured',
          'Unauthorized',
          'Gmail push is not configured here',
        );
      }
      try {
        await verifyPush(request.headers.authorization);
      } catch (error) {
        if (!(error instanceof PushRejected)) throw error;
        request.log.warn({ reason: error.message }, 'Gmail push refused');
        throw new ProblemError(401, 'invalid_token', 'Unauthorized', 'the push token is not valid');
      }
      const notification = decodeGmailPush(typeof request.body === 'string' ? request.body : '');
      if (!notification) {
        request.log.warn('malformed Gmail push acknowledged');
        return reply.code(204).send(null);
      }
      const mailboxes = await db
        .select({ credentialId: triggerListeners.credentialId })
        .from(triggerListeners)
        .where(
          and(
            eq(triggerListeners.provider, 'gmail'),
            sql`lower(${triggerListeners.account}) = ${notification.emailAddress.toLowerCase()}`,
          ),
        );
      if (mailboxes.length === 0) request.log.info('Gmail push for a mailbox nobody watches');
      try {
        await Promise.all(
          mailboxes.map(({ credentialId }) => {
            const input: GmailMailboxInput = { credentialId };
            const signal: GmailNotification = { historyId: notification.historyId };
            return temporal.workflow.signalWithStart(WORKFLOW_TYPES.gmailMailbox, {
              workflowId: gmailMailboxWorkflowId(credentialId),
              taskQueue: TASK_QUEUES.automation,
              args: [input],
              signal: GMAIL_MAILBOX_SIGNALS.notification,
              signalArgs: [signal],
            });
          }),
        );
      } catch (error) {
        request.log.error({ err: error }, 'Temporal did not accept the Gmail notification');
        throw problems.unavailable('the notification could not be accepted; Pub/Sub will redeliver it');
      }
      return reply.code(204).send(null);
    },
  );
};
