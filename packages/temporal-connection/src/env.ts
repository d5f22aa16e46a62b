import { z } from 'zod';

/** Compose and shells pass an unset variable as an empty string. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const pemOrPath = z.string().min(1);

/**
 * How an app authenticates its Temporal connection, one variable each. Every app's env.ts spreads
 * this shape next to TEMPORAL_ADDRESS; resolveTemporalConnection turns the parsed values into the
 * SDK's connection options. With none of them set the connection is plaintext (the dev server).
 */
export const temporalConnectionEnv = {
  /**
   * "true": TLS even without a CA or client certificate (a server certificate from a public CA);
   * "false": plaintext, and any other TLS setting or an API key is refused. Unset: TLS as soon as
   * any TEMPORAL_TLS_* variable or TEMPORAL_API_KEY is set.
   */
  TEMPORAL_TLS: optional(z.enum(['true', 'false'])),
  /** PEM file of the CA that signed the Temporal frontend's certificate (self-hosted Temporal). */
  TEMPORAL_TLS_CA_FILE: optional(pemOrPath),
  /** The same CA as PEM text, for platforms that inject secrets as variables; not with _FILE. */
  TEMPORAL_TLS_CA_PEM: optional(pemOrPath),
  /** Name the server certificate must carry, when it is not the host of TEMPORAL_ADDRESS (SNI too). */
  TEMPORAL_TLS_SERVER_NAME: optional(z.string().min(1)),
  /** mTLS: PEM file of this app's client certificate; needs TEMPORAL_TLS_KEY_FILE (or _PEM). */
  TEMPORAL_TLS_CERT_FILE: optional(pemOrPath),
  /** mTLS: the client certificate as PEM text; not with _FILE. */
  TEMPORAL_TLS_CERT_PEM: optional(pemOrPath),
  /** mTLS: PEM file of the client certificate's private key (unencrypted PKCS#8, PKCS#1 or SEC1). */
  TEMPORAL_TLS_KEY_FILE: optional(pemOrPath),
  /** mTLS: the private key as PEM text; not with _FILE. */
  TEMPORAL_TLS_KEY_PEM: optional(pemOrPath),
  /** API key (Temporal Cloud): sent as `Authorization: Bearer …` on every call; implies TLS. */
  TEMPORAL_API_KEY: optional(z.string().min(1)),
};

export const temporalConnectionEnvSchema = z.object(temporalConnectionEnv);

export type TemporalConnectionEnv = z.infer<typeof temporalConnectionEnvSchema>;
