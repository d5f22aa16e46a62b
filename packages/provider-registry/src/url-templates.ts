import type { JsonValue } from '@autoflow/workflow-contracts';
import { z } from 'zod';
import { renderPlaceholderText } from './templates.js';

// URLs in action config may hold templates, but only where a value cannot move the request elsewhere:
// the scheme, host and port are literal, placeholders stand in path segments and query values, and
// every rendered value is percent-encoded. The worker checks the rendered URL's origin again.

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const HAS_PLACEHOLDER = /\{\{[^{}]*\}\}/;
/** `scheme://authority/`: the literal part every templated URL starts with. */
const LITERAL_ORIGIN = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)\//i;
const DOT_SEGMENT = /^(\.|%2e){1,2}$/i;

/** A URL template that breaks the rules above; `message` says which. */
export class UrlTemplateError extends Error {
  override name = 'UrlTemplateError';
}

/** The scheme, host and port a templated URL always goes to. */
export interface UrlOrigin {
  protocol: string;
  hostname: string;
  port: string;
  /** `hostname[:port]`, the port only when not the scheme's default (as `URL.host`). */
  host: string;
}

function originOf(url: URL): UrlOrigin {
  return { protocol: url.protocol, hostname: url.hostname, port: url.port, host: url.host };
}

/**
 * Checks a stored URL template and answers its fixed origin. Throws UrlTemplateError when a
 * placeholder stands before the path's first `/`, in a query name, or in the fragment, or when the
 * literal part carries userinfo or is not http(s).
 */
export function checkUrlTemplate(template: string): UrlOrigin {
  const literal = LITERAL_ORIGIN.exec(template);
  if (!literal?.[1] || HAS_PLACEHOLDER.test(literal[1])) {
    throw new UrlTemplateError(
      'must start with a literal scheme://host[:port]/ ; templates may fill only path segments and query values',
    );
  }
  if (!URL.canParse(literal[1])) throw new UrlTemplateError('does not start with a valid URL origin');
  const origin = new URL(literal[1]);
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:')
    throw new UrlTemplateError('must be an http(s) URL');
  if (origin.username || origin.password || literal[1].includes('@'))
    throw new UrlTemplateError('must not carry a user name or password');

  const rest = template.slice(literal[0].length);
  const hashAt = rest.indexOf('#');
  if (hashAt >= 0 && HAS_PLACEHOLDER.test(rest.slice(hashAt)))
    throw new UrlTemplateError('templates may not fill the fragment (#…)');
  const beforeHash = hashAt >= 0 ? rest.slice(0, hashAt) : rest;
  const queryAt = beforeHash.indexOf('?');
  if (queryAt >= 0) {
    for (const pair of beforeHash.slice(queryAt + 1).split('&')) {
      const equalsAt = pair.indexOf('=');
      const name = equalsAt >= 0 ? pair.slice(0, equalsAt) : pair;
      if (HAS_PLACEHOLDER.test(name))
        throw new UrlTemplateError('templates may fill query values, not query parameter names');
    }
  }
  return originOf(origin);
}

/**
 * Renders a URL template: each placeholder's value is percent-encoded, so `@`, `/`, `?`, `#` and `&`
 * stay data. Then checks that the result goes to the template's own origin, carries no userinfo, and
 * that no value made a `.` or `..` path segment. Throws UrlTemplateError otherwise.
 */
export function renderUrlTemplate(template: string, scope: { trigger: JsonValue }): string {
  const origin = checkUrlTemplate(template);
  const rendered = template.replace(PLACEHOLDER, (_, expression: string) =>
    encodeURIComponent(renderPlaceholderText(expression, scope.trigger)),
  );
  if (!URL.canParse(rendered)) throw new UrlTemplateError('is not a valid URL once rendered');
  const url = new URL(rendered);
  const after = originOf(url);
  if (
    after.protocol !== origin.protocol ||
    after.hostname !== origin.hostname ||
    after.port !== origin.port ||
    url.username ||
    url.password
  ) {
    throw new UrlTemplateError(`once rendered goes to ${after.host}, not to ${origin.host}`);
  }
  const path = rendered.slice(rendered.indexOf('/', rendered.indexOf('//') + 2)).split(/[?#]/)[0] ?? '';
  if (path.split('/').some((segment) => DOT_SEGMENT.test(segment)))
    throw new UrlTemplateError('once rendered has a "." or ".." path segment');
  return rendered;
}

/** The config fields of an action that hold templated URLs, as the action declares them. */
export interface UrlFieldsDeclaration {
  urlFields?: readonly string[];
}

function fieldText(config: JsonValue, name: string): string | undefined {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return undefined;
  const value = Object.hasOwn(config, name) ? config[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** Problems with the URL fields of a stored config, by field name (empty: all fine). */
export function urlTemplateIssues(
  action: UrlFieldsDeclaration,
  config: JsonValue,
): { field: string; message: string }[] {
  const issues: { field: string; message: string }[] = [];
  for (const name of action.urlFields ?? []) {
    const template = fieldText(config, name);
    if (template === undefined) continue;
    try {
      checkUrlTemplate(template);
    } catch (error) {
      if (!(error instanceof UrlTemplateError)) throw error;
      issues.push({ field: name, message: error.message });
    }
  }
  return issues;
}

/**
 * Replaces the URL fields of an already rendered config with their URL rendering (encoded values,
 * origin checked) from the stored config. Throws UrlTemplateError, naming the field.
 */
export function renderUrlFields(
  action: UrlFieldsDeclaration,
  stored: JsonValue,
  rendered: JsonValue,
  scope: { trigger: JsonValue },
): JsonValue {
  if (!action.urlFields?.length) return rendered;
  if (rendered === null || typeof rendered !== 'object' || Array.isArray(rendered)) return rendered;
  const result: Record<string, JsonValue> = { ...rendered };
  for (const name of action.urlFields) {
    const template = fieldText(stored, name);
    if (template === undefined) continue;
    try {
      result[name] = renderUrlTemplate(template, scope);
    } catch (error) {
      if (error instanceof UrlTemplateError) throw new UrlTemplateError(`${name}: ${error.message}`);
      throw error;
    }
  }
  return result;
}

/** A config field holding an http(s) URL that may carry templates in its path and query values. */
export function templatedUrl() {
  return z.string().refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
    message: 'must be an http(s) URL; templates may fill its path segments and query values, not its host',
  });
}
