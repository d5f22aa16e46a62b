import { createServer } from 'node:http';
import type {
  InboundRequest,
  PushContractSamples,
  PushEndpoint,
  PushVerifier,
} from '@autoflow/provider-registry';
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { GMAIL_MAILBOX_SIGNALS, type GmailNotification } from './contracts.js';
import { createPushVerifier, decodeGmailPush, PushRejected } from './push.js';
import type { GmailSettings } from './settings.js';

/**
 * Gmail's Pub/Sub push (POST /push/gmail, and /pubsub/gmail where subscriptions in the field point). It
 * only announces `{emailAddress, historyId}` to the mailbox workflow, which reads the history itself:
 * redeliveries are harmless since the workflow's cursor has moved past them. A malformed message is
 * acknowledged, since no redelivery can fix it.
 */
export const gmailPushEndpoint: PushEndpoint<GmailSettings> = {
  summary: 'Gmail notifications from a Cloud Pub/Sub push subscription (OIDC token checked)',
  maxBodyBytes: 64 * 1024,
  verifier(settings): PushVerifier | undefined {
    const audience = settings.PUBSUB_PUSH_AUDIENCE;
    const serviceAccount = settings.PUBSUB_PUSH_SERVICE_ACCOUNT;
    if (!audience || !serviceAccount) return undefined;
    const verify = createPushVerifier({ audience, serviceAccount, jwksUrl: settings.PUBSUB_PUSH_JWKS_URL });
    return async (request) => {
      try {
        await verify(request.headers.authorization);
        return { accepted: true };
      } catch (error) {
        if (!(error instanceof PushRejected)) throw error;
        return { accepted: false, code: 'invalid_token', reason: error.message };
      }
    };
  },
  receive(request) {
    const acknowledgement = { status: 204 } as const;
    const notification = decodeGmailPush(request.rawBody);
    if (!notification) return { acknowledgement, events: [], dropped: 'malformed Gmail push' };
    const payload: GmailNotification = { historyId: notification.historyId };
    return {
      acknowledgement,
      events: [
        {
          deliver: 'listener-signal',
          triggerId: 'receive-email',
          account: notification.emailAddress,
          signal: GMAIL_MAILBOX_SIGNALS.notification,
          payload: { ...payload },
        },
      ],
    };
  },
  contractSamples: pushContractSamples,
};

/**
 * For the contract-test kit: a local JWK Set stands in for Google's, and tokens are signed as Pub/Sub
 * signs them; the forgeries lack a token, are signed by another key, or name another audience.
 */
async function pushContractSamples(): Promise<PushContractSamples> {
  const audience = 'https://ingest.autoflow.test/push/gmail';
  const serviceAccount = 'push@contract.iam.gserviceaccount.com';
  const google = await generateKeyPair('RS256', { extractable: true });
  const forger = await generateKeyPair('RS256');
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(google.publicKey)), kid: 'contract', alg: 'RS256', use: 'sig' }],
  });
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const token = (key: CryptoKey, tokenAudience = audience) =>
    new SignJWT({ email: serviceAccount, email_verified: true })
      .setProtectedHeader({ alg: 'RS256', kid: 'contract', typ: 'JWT' })
      .setIssuer('https://accounts.google.com')
      .setAudience(tokenAudience)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(key);
  const rawBody = JSON.stringify({
    message: {
      data: Buffer.from(JSON.stringify({ emailAddress: 'me@gmail.test', historyId: '4242' })).toString(
        'base64',
      ),
    },
  });
  const request = (authorization: string | undefined): InboundRequest => ({
    rawBody,
    query: {},
    headers: authorization ? { authorization } : {},
  });
  return {
    env: {
      PUBSUB_PUSH_AUDIENCE: audience,
      PUBSUB_PUSH_SERVICE_ACCOUNT: serviceAccount,
      PUBSUB_PUSH_JWKS_URL: `http://127.0.0.1:${port}/certs`,
    },
    event: request(`Bearer ${await token(google.privateKey)}`),
    forgeries: [
      request(undefined),
      request(`Bearer ${await token(forger.privateKey)}`),
      request(`Bearer ${await token(google.privateKey, 'https://someone-else.test/')}`),
    ],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
