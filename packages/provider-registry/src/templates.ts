import type { JsonValue } from '@autoflow/workflow-contracts';

// Logic-less templates in action config: `{{trigger.body.name}}`. Only own properties of plain
// objects and array indexes are read, so no template reaches a prototype.

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const WHOLE_PLACEHOLDER = /^\{\{\s*([^{}]*?)\s*\}\}$/;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);
export const TEMPLATE_ROOT = 'trigger';

export interface TemplateReference {
  /** Where in the config the template stands, e.g. `body.greeting`. */
  location: string;
  expression: string;
  /** Segments after `trigger`; undefined when the expression is malformed. */
  path: string[] | undefined;
}

export function parseExpression(expression: string): string[] | undefined {
  const [root, ...segments] = expression.split('.');
  if (root !== TEMPLATE_ROOT) return undefined;
  if (!segments.every((segment) => SEGMENT.test(segment) && !FORBIDDEN_SEGMENTS.has(segment)))
    return undefined;
  return segments;
}

function forEachString(
  value: JsonValue,
  location: string,
  visit: (text: string, location: string) => void,
): void {
  if (typeof value === 'string') visit(value, location);
  else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) forEachString(item, joinLocation(location, index), visit);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) forEachString(item, joinLocation(location, key), visit);
  }
}

function joinLocation(location: string, key: string | number): string {
  return location ? `${location}.${key}` : String(key);
}

export function listTemplateReferences(value: JsonValue): TemplateReference[] {
  const references: TemplateReference[] = [];
  forEachString(value, '', (text, location) => {
    for (const match of text.matchAll(PLACEHOLDER)) {
      const expression = match[1] ?? '';
      references.push({ location, expression, path: parseExpression(expression) });
    }
  });
  return references;
}

function lookup(root: JsonValue, path: readonly string[]): JsonValue | undefined {
  let current: JsonValue | undefined = root;
  for (const segment of path) {
    if (Array.isArray(current)) {
      current = /^\d+$/.test(segment) ? current[Number(segment)] : undefined;
    } else if (current !== null && typeof current === 'object' && Object.hasOwn(current, segment)) {
      current = current[segment];
    } else {
      return undefined;
    }
  }
  return current;
}

function resolve(expression: string, trigger: JsonValue): JsonValue | undefined {
  const path = parseExpression(expression);
  return path ? lookup(trigger, path) : undefined;
}

function asText(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Renders every template in `value`. A string that is exactly one placeholder takes the referenced
 * value as it is (an object stays an object); placeholders inside longer text are stringified, and a
 * missing value renders as empty text.
 */
export function renderTemplates(value: JsonValue, scope: { trigger: JsonValue }): JsonValue {
  if (typeof value === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(value);
    if (whole) return resolve(whole[1] ?? '', scope.trigger) ?? '';
    return value.replace(PLACEHOLDER, (_, expression: string) => asText(resolve(expression, scope.trigger)));
  }
  if (Array.isArray(value)) return value.map((item) => renderTemplates(item, scope));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, renderTemplates(item, scope)]),
    );
  }
  return value;
}

/** What one placeholder renders as inside longer text; URL templates encode it (url-templates.ts). */
export function renderPlaceholderText(expression: string, trigger: JsonValue): string {
  return asText(resolve(expression, trigger));
}
