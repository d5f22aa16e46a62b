import { isDeepStrictEqual } from 'node:util';

// One document for every public route: the apps each describe their own routes; a frontend sees one
// origin (the proxy) and so one API.

export type JsonObject = { [key: string]: unknown };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectAt(value: unknown, key: string): JsonObject {
  if (!isJsonObject(value)) return {};
  const found = value[key];
  return isJsonObject(found) ? found : {};
}

/** Keys sorted, so that the committed file changes only where the API does. */
function sortedByKey(entries: Map<string, unknown>): JsonObject {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Adds `part`'s entries to `into`; the same name twice must mean the same thing (a shared component). */
function addEntries(into: Map<string, unknown>, part: JsonObject, what: string, source: string): void {
  for (const [name, value] of Object.entries(part)) {
    const existing = into.get(name);
    if (existing !== undefined && !isDeepStrictEqual(existing, value))
      throw new Error(`${what} "${name}" of ${source} differs from another app's`);
    into.set(name, value);
  }
}

export interface AppDocument {
  app: string;
  document: unknown;
}

export const MERGED_INFO = {
  title: 'autoflow API',
  version: '0.1.0',
  description:
    'Every public route of autoflow on one origin: workflows, executions, accounts and the catalog ' +
    '(api-gateway), connecting provider accounts over OAuth2 (oauth-service), and inbound webhooks and ' +
    'push events (trigger-ingest). Errors are `application/problem+json` (RFC 9457) with a stable `code`. ' +
    'Generated from the routes’ zod schemas (`pnpm openapi`); do not edit by hand.',
};

/**
 * Component schemas nothing refers to (zod's registry also emits an input variant of every named
 * schema, e.g. `ProblemInput`) are left out, so that the client gets no types for them.
 */
function referencedSchemas(document: JsonObject, schemas: Map<string, unknown>): Map<string, unknown> {
  const kept = new Map<string, unknown>();
  let text = JSON.stringify({ ...document, components: {} });
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, schema] of schemas) {
      if (kept.has(name) || !text.includes(`"#/components/schemas/${name}"`)) continue;
      kept.set(name, schema);
      text += JSON.stringify(schema);
      changed = true;
    }
  }
  return kept;
}

/** Merges the apps' documents; a path served by two apps is an error, not a silent override. */
export function mergeDocuments(parts: readonly AppDocument[]): JsonObject {
  const paths = new Map<string, unknown>();
  const components = new Map<string, Map<string, unknown>>();
  const tags = new Map<string, unknown>();
  for (const { app, document } of parts) {
    if (!isJsonObject(document) || document.openapi !== '3.1.0')
      throw new Error(`${app} did not produce an OpenAPI 3.1.0 document`);
    for (const [path, item] of Object.entries(objectAt(document, 'paths'))) {
      if (paths.has(path)) throw new Error(`${path} is served by two apps (${app} and another)`);
      paths.set(path, item);
    }
    for (const [kind, entries] of Object.entries(objectAt(document, 'components'))) {
      if (!isJsonObject(entries)) continue;
      const merged = components.get(kind) ?? new Map<string, unknown>();
      addEntries(merged, entries, `components.${kind}`, app);
      components.set(kind, merged);
    }
    const declaredTags = Array.isArray(document.tags) ? document.tags : [];
    for (const tag of declaredTags)
      if (isJsonObject(tag) && typeof tag.name === 'string') tags.set(tag.name, tag);
  }
  const merged: JsonObject = {
    openapi: '3.1.0',
    info: MERGED_INFO,
    ...(tags.size > 0 ? { tags: [...tags.values()] } : {}),
    paths: sortedByKey(paths),
  };
  const schemas = components.get('schemas');
  if (schemas) components.set('schemas', referencedSchemas(merged, schemas));
  return {
    ...merged,
    components: Object.fromEntries(
      [...components]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([kind, entries]) => [kind, sortedByKey(entries)]),
    ),
  };
}
