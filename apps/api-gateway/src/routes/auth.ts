import { users } from '@autoflow/db';
import { authenticate, ProblemError, problemResponse, problemResponses, problems } from '@autoflow/http-kit';
import { hash, verify } from '@node-rs/argon2';
import { eq, sql } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiGatewayDeps } from '../deps.js';
import { userSchema } from '../schemas.js';

const credentialsBody = z
  .object({ email: z.email().max(320), password: z.string().min(8).max(256) })
  .meta({ examples: [{ email: 'ada@example.com', password: 'correct horse battery' }] });
const sessionSchema = z.object({ user: userSchema, token: z.string() }).meta({
  examples: [
    {
      user: { id: 7, email: 'ada@example.com', name: 'Ada' },
      token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In0.c2lnbmF0dXJl',
    },
  ],
});
// Verifying against a throwaway hash keeps "no such user" as slow as "wrong password".
const decoyHash = hash('decoy password that matches nothing');

/** Postgres' unique_violation, also when drizzle wraps the driver's error as its cause. */
function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if ('code' in error && error.code === '23505') return true;
  return 'cause' in error && isUniqueViolation(error.cause);
}

/**
 * Both routes are limited per client address (before the body is read) and per account email (before
 * the password is hashed), in counts every replica shares. Registration keeps the seed's contract (201
 * with a session; 409 email_taken for a known email): an answer that does not tell would need proof
 * that the caller owns the address (a verification mail), since logging in right after a "successful"
 * registration would tell anyway. Its limits are what keep probing for accounts slow.
 */
export const authRoutes: FastifyPluginAsyncZod<ApiGatewayDeps> = async (
  app,
  { db, tokens, rateLimits, authLimits },
) => {
  app.post(
    '/api/auth/register',
    {
      config: rateLimits.perAddress('register', authLimits.register.perAddress),
      schema: {
        tags: ['auth'],
        operationId: 'register',
        summary: 'Creates an account and answers a session (bearer token)',
        body: credentialsBody
          .extend({ name: z.string().min(1).max(255).optional() })
          .meta({ examples: [{ email: 'ada@example.com', password: 'correct horse battery', name: 'Ada' }] }),
        response: {
          201: sessionSchema,
          409: problemResponse(409, 'An account with this email exists: `email_taken`.'),
          ...problemResponses(429),
        },
      },
    },
    async (request, reply) => {
      const { email, password, name } = request.body;
      await rateLimits.consume(reply, 'register', email.toLowerCase(), authLimits.register.perAccount);
      // argon2id with the library's defaults (19 MiB, t=2): memory-hard, as OWASP recommends.
      const passwordHash = await hash(password);
      try {
        const [user] = await db
          .insert(users)
          .values({ email, name: name ?? null, passwordHash })
          .returning({ id: users.id, email: users.email, name: users.name });
        if (!user) throw new Error('insert returned no row');
        return reply.code(201).send({ user, token: await tokens.issue(user.id) });
      } catch (error) {
        if (isUniqueViolation(error))
          throw problems.conflict('email_taken', 'an account with this email exists');
        throw error;
      }
    },
  );

  app.post(
    '/api/auth/login',
    {
      config: rateLimits.perAddress('login', authLimits.login.perAddress),
      schema: {
        tags: ['auth'],
        operationId: 'login',
        summary: 'Answers a session (bearer token) for an email and password',
        body: credentialsBody,
        response: {
          200: sessionSchema,
          401: problemResponse(401, 'The email or password is wrong: `invalid_credentials`.'),
          ...problemResponses(429),
        },
      },
    },
    async (request, reply) => {
      const { email, password } = request.body;
      // Right or wrong, every attempt counts: a guesser learns nothing from which ones are limited.
      await rateLimits.consume(reply, 'login', email.toLowerCase(), authLimits.login.perAccount);
      const [user] = await db
        .select()
        .from(users)
        .where(eq(sql`lower(${users.email})`, email.toLowerCase()));
      const matches = await verify(user?.passwordHash ?? (await decoyHash), password);
      if (!user || !matches) {
        throw new ProblemError(
          401,
          'invalid_credentials',
          'Invalid credentials',
          'email or password is wrong',
        );
      }
      return {
        user: { id: user.id, email: user.email, name: user.name },
        token: await tokens.issue(user.id),
      };
    },
  );

  app.get(
    '/api/me',
    {
      schema: {
        tags: ['auth'],
        operationId: 'getMe',
        summary: 'The signed-in user',
        security: [{ bearer: [] }],
        response: { 200: userSchema },
      },
    },
    async (request) => {
      const userId = await authenticate(tokens, request);
      const [user] = await db
        .select({ id: users.id, email: users.email, name: users.name })
        .from(users)
        .where(eq(users.id, userId));
      if (!user) throw problems.unauthorized('the account no longer exists');
      return user;
    },
  );
};
