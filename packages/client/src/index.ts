import { readFileSync } from 'node:fs';

export {
  type ApiClient,
  type ApiClientOptions,
  type components,
  createApiClient,
  type operations,
  type Problem,
  type paths,
} from './browser.js';

/** The committed OpenAPI 3.1 document of every public route (what `/docs` shows). */
export function readOpenApiDocument(): unknown {
  return JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8'));
}
