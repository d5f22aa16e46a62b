import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { z } from 'zod';

/** Google signs Pub/Sub push tokens with these issuers. */
const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];
export const GOOGLE_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';

export interface PushAuthSettings {
  /** The audience the push subscription puts in its OIDC tokens (PUBSUB_PUSH_AUDIENCE). */
  audience: string;
  /** The service account the subscription signs as (PUBSUB_PUSH_SERVICE_ACCOUNT). */
  serviceAccount: string;
  /** Where Google's signing keys are (PUBSUB_PUSH_JWKS_URL). */
  jwksUrl: string;
}

export class PushRejected extends Error {
  override name = 'PushRejected';
}

/**
 * Verifies the OIDC token Pub/Sub puts on each push: Google's signature (keys fetched and cached from
 * the JWK Set), the issuer, our audience, an unexpired token, and the expected, verified service account.
 */
export function createPushVerifier(
  settings: PushAuthSettings,
): (authorization: string | undefined) => Promise<void> {
  const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(settings.jwksUrl));
  const claims = z.object({ email: z.string(), email_verified: z.literal(true) });
  return async (authorization) => {
    const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(authorization ?? '')?.[1];
    if (!token) throw new PushRejected('no bearer token');
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: GOOGLE_ISSUERS,
        audience: settings.audience,
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'iat'],
        clockTolerance: 30,
      }));
    } catch (error) {
      if (error instanceof errors.JOSEError) throw new PushRejected(`token refused: ${error.code}`);
      throw error;
    }
    const identity = claims.safeParse(payload);
    if (!identity.success) throw new PushRejected('the token has no verified email');
    if (identity.data.email.toLowerCase() !== settings.serviceAccount.toLowerCase()) {
      throw new PushRejected('the token is not from the push service account');
    }
  };
}

const envelopeSchema = z.object({
  message: z.object({ data: z.string().min(1), messageId: z.string().optional() }),
  subscription: z.string().optional(),
});

const notificationSchema = z.object({
  emailAddress: z.email(),
  historyId: z.string().regex(/^\d{1,40}$/),
});

export type GmailPushNotification = z.infer<typeof notificationSchema>;

/** The JSON text of a number, so a historyId above 2^53 keeps every digit (JSON.parse's source access). */
function keepHistoryIdDigits(key: string, value: unknown, context?: { source?: string }): unknown {
  return key === 'historyId' && typeof value === 'number' && context?.source ? context.source : value;
}

/**
 * A push body as Gmail's notification `{emailAddress, historyId}`, or undefined when it is not one
 * (nothing a redelivery could fix, so the caller acknowledges it).
 */
export function decodeGmailPush(rawBody: string): GmailPushNotification | undefined {
  try {
    const envelope = envelopeSchema.safeParse(JSON.parse(rawBody));
    if (!envelope.success) return undefined;
    const data = Buffer.from(envelope.data.message.data, 'base64').toString('utf8');
    const notification = notificationSchema.safeParse(JSON.parse(data, keepHistoryIdDigits));
    return notification.success ? notification.data : undefined;
  } catch {
    return undefined;
  }
}
