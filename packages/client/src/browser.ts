import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './openapi.gen.js';

// The typed client without anything of Node's: what a browser bundle (apps/console) imports.

export type { components, operations, paths } from './openapi.gen.js';

/** RFC 9457 problem details, as every error of the API answers. */
export type Problem = components['schemas']['Problem'];

export type ApiClient = Client<paths>;

export interface ApiClientOptions {
  /** The origin the API answers on (the proxy's, or one app's), e.g. `http://localhost:8080`. */
  baseUrl: string;
  /** The bearer token from `POST /api/auth/login` or `/register`; sent as `Authorization: Bearer …`. */
  token?: string;
  /** Another fetch (a test's recorder, a browser's with credentials); the global one by default. */
  fetch?: ClientOptions['fetch'];
  headers?: Record<string, string>;
}

/**
 * A typed client over the committed OpenAPI document: paths, parameters, bodies and every declared
 * response (errors included) are checked by the compiler, so a contract change breaks the build.
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/$/, ''),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    headers: {
      ...options.headers,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
  });
}
