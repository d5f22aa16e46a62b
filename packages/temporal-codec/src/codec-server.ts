import type { Keyring } from '@autoflow/crypto';
import { authenticate, ProblemError, problemResponse, type TokenService } from '@autoflow/http-kit';
import type { Payload } from '@temporalio/common';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isEncrypted, openPayload, ownerOfPayload, PayloadRefusedError, sealPayload } from './codec.js';

// The Temporal UI's codec-server protocol (https://docs.temporal.io/production-deployment/data-encryption):
// POST {endpoint}/decode and /encode with `{payloads: [{metadata: {k: base64}, data: base64}]}`. The UI
// sends the user's bearer token when "pass access token" is set. A caller decodes only payloads bound to
// them; system payloads (no owner) and other users' payloads refuse the whole request.

export interface CodecServerOptions {
  keyring: Keyring;
  tokens: TokenService;
  /** The Temporal UI's origin, allowed by CORS; unset: no CORS headers (same-origin or CLI only). */
  allowedOrigin?: string;
}

const base64 = z
  .string()
  .max(4_000_000)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
const payloadSchema = z.object({
  metadata: z.record(z.string().max(256), base64).optional(),
  data: base64.optional(),
});
const payloadsSchema = z.object({ payloads: z.array(payloadSchema).max(1_000) }).meta({
  examples: [{ payloads: [{ metadata: { encoding: 'YmluYXJ5L2VuY3J5cHRlZA==' }, data: 'AAECAwQ=' }] }],
});

type JsonPayload = z.infer<typeof payloadSchema>;

function fromJson(payload: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

function toJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [
        key,
        Buffer.from(value).toString('base64'),
      ]),
    ),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

/** A batch of payloads near Temporal's 2 MB limit, base64 in JSON. */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

const forbidden = (detail: string) => new ProblemError(403, 'codec_forbidden', 'Forbidden', detail);

export const codecServerRoutes: FastifyPluginAsyncZod<CodecServerOptions> = async (app, options) => {
  const { keyring, tokens, allowedOrigin } = options;
  app.addHook('onRequest', async (request, reply) => {
    if (!allowedOrigin || request.headers.origin !== allowedOrigin) return;
    reply.header('access-control-allow-origin', allowedOrigin);
    reply.header('vary', 'origin');
    reply.header('access-control-allow-credentials', 'true');
  });
  app.options('/codec/:operation', { schema: { hide: true } }, async (request, reply) => {
    if (!allowedOrigin || request.headers.origin !== allowedOrigin) {
      throw new ProblemError(
        403,
        'cors_origin_not_allowed',
        'Forbidden',
        'this origin may not call the codec endpoint (TEMPORAL_UI_ORIGIN)',
      );
    }
    return reply
      .code(204)
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'authorization, content-type, x-namespace')
      .header('access-control-max-age', '600')
      .send();
  });

  const schema = {
    tags: ['codec'],
    security: [{ bearer: [] }],
    body: payloadsSchema,
    response: {
      200: payloadsSchema,
      403: problemResponse(
        403,
        'A payload of another user or of the system, or one that does not open: `codec_forbidden`.',
      ),
    },
  };

  app.post(
    '/codec/decode',
    {
      bodyLimit: MAX_REQUEST_BYTES,
      schema: {
        ...schema,
        operationId: 'codecDecode',
        summary: 'Decodes the caller’s own Temporal payloads (the Temporal UI’s codec server)',
        description:
          "Temporal UI codec server: decodes the caller's own run payloads; any payload of another user or of the system answers 403.",
      },
    },
    async (request) => {
      const userId = await authenticate(tokens, request);
      const payloads = request.body.payloads.map((payload) => {
        const decoded = fromJson(payload);
        if (!isEncrypted(decoded)) return payload;
        try {
          if (ownerOfPayload(decoded) !== userId) throw forbidden('a payload does not belong to the caller');
          return toJson(openPayload(keyring, decoded));
        } catch (error) {
          if (error instanceof PayloadRefusedError) throw forbidden('a payload does not open');
          throw error;
        }
      });
      return { payloads };
    },
  );

  app.post(
    '/codec/encode',
    {
      bodyLimit: MAX_REQUEST_BYTES,
      schema: {
        ...schema,
        operationId: 'codecEncode',
        summary: 'Encrypts Temporal payloads bound to the caller (the Temporal UI’s codec server)',
        description:
          "Temporal UI codec server: encrypts payloads bound to the caller (a worker refuses them in another user's run).",
      },
    },
    async (request) => {
      const userId = await authenticate(tokens, request);
      return {
        payloads: request.body.payloads.map((payload) =>
          toJson(sealPayload(keyring, fromJson(payload), userId)),
        ),
      };
    },
  );
};
