import type { FastifyRequest } from 'fastify';
import { jwtVerify, SignJWT } from 'jose';
import { problems } from './problem.js';

// Frontends get a JWT from api-gateway; every app verifies it with the shared key, so no app has to
// call another to authenticate a request.

const ISSUER = 'autoflow';
const TOKEN_LIFETIME = '12h';

export interface TokenService {
  issue(userId: number): Promise<string>;
  verify(token: string): Promise<number>;
}

export function createTokenService(secret: string): TokenService {
  const key = new TextEncoder().encode(secret);
  return {
    issue: (userId) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(String(userId))
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime(TOKEN_LIFETIME)
        .sign(key),
    async verify(token) {
      const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: ['HS256'] });
      const userId = Number(payload.sub);
      if (!Number.isSafeInteger(userId) || userId <= 0) throw new Error('token subject is not a user id');
      return userId;
    },
  };
}

/** The caller's user id from `Authorization: Bearer …`; 401 problem otherwise. */
export async function authenticate(tokens: TokenService, request: FastifyRequest): Promise<number> {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match?.[1]) throw problems.unauthorized();
  try {
    return await tokens.verify(match[1]);
  } catch {
    throw problems.unauthorized('the bearer token is invalid or expired');
  }
}
