import { type JsonValue, MAX_JSON_DEPTH, MAX_RENDERED_CONFIG_BYTES } from '@autoflow/workflow-contracts';
import { jsonTextBytes } from './json-size.js';

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

/** What one render may produce; both bounds protect the worker from a tenant's config or event. */
export interface RenderLimits {
  /** The rendered config as JSON text, in UTF-8 bytes. */
  maxBytes: number;
  /** Nesting of the rendered config (a scalar is 0, `{}` is 1). */
  maxDepth: number;
}

export const DEFAULT_RENDER_LIMITS: RenderLimits = {
  maxBytes: MAX_RENDERED_CONFIG_BYTES,
  maxDepth: MAX_JSON_DEPTH,
};

/** A render that would exceed a limit; it stopped before building the oversized value. */
export class RenderLimitExceeded extends Error {
  override name = 'RenderLimitExceeded';
  constructor(
    readonly limit: 'MAX_RENDERED_CONFIG_BYTES' | 'MAX_JSON_DEPTH',
    readonly allowed: number,
    /** Bytes counted when the render stopped (at least this much), or the depth reached. */
    readonly reached: number,
  ) {
    super(
      limit === 'MAX_RENDERED_CONFIG_BYTES'
        ? `the action config after templates exceeds ${limit} (${allowed} bytes): stopped at ${reached} bytes`
        : `the action config after templates is nested deeper than ${limit} (${allowed} levels)`,
    );
  }
}

/** Counts the bytes of the rendered JSON as it is produced, and its depth, and stops at either limit. */
class RenderBudget {
  bytes = 0;
  constructor(readonly limits: RenderLimits) {}

  charge(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.limits.maxBytes)
      throw new RenderLimitExceeded('MAX_RENDERED_CONFIG_BYTES', this.limits.maxBytes, this.bytes);
  }

  enter(depth: number): void {
    if (depth > this.limits.maxDepth)
      throw new RenderLimitExceeded('MAX_JSON_DEPTH', this.limits.maxDepth, depth);
  }

  chargeText(text: string): void {
    // Every UTF-16 unit costs at least one byte: a text longer than what is left cannot fit.
    if (this.bytes + text.length > this.limits.maxBytes) this.charge(text.length);
    this.charge(jsonTextBytes(text));
  }

  /** Charges a value the render reuses as it is (a whole placeholder's): walked, never copied. */
  chargeValue(value: JsonValue, depth: number): void {
    if (typeof value === 'string') {
      this.charge(2);
      this.chargeText(value);
    } else if (Array.isArray(value)) {
      this.enter(depth + 1);
      this.charge(2 + Math.max(0, value.length - 1));
      for (const item of value) this.chargeValue(item, depth + 1);
    } else if (value !== null && typeof value === 'object') {
      this.enter(depth + 1);
      const entries = Object.entries(value);
      this.charge(2 + Math.max(0, entries.length - 1));
      for (const [key, item] of entries) {
        this.charge(3);
        this.chargeText(key);
        this.chargeValue(item, depth + 1);
      }
    } else {
      this.charge(JSON.stringify(value).length);
    }
  }
}

/** A referenced value as text inside a longer string; bounded before JSON.stringify builds it. */
function asText(value: JsonValue | undefined, budget: RenderBudget): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  // Checks depth (JSON.stringify recurses) and that the unescaped JSON alone fits what is left.
  const probe = new RenderBudget({
    maxBytes: budget.limits.maxBytes - budget.bytes,
    maxDepth: budget.limits.maxDepth,
  });
  try {
    probe.chargeValue(value, 0);
  } catch (error) {
    if (error instanceof RenderLimitExceeded && error.limit === 'MAX_RENDERED_CONFIG_BYTES')
      budget.charge(probe.bytes);
    throw error;
  }
  return JSON.stringify(value);
}

function render(value: JsonValue, trigger: JsonValue, budget: RenderBudget, depth: number): JsonValue {
  if (typeof value === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(value);
    if (whole) {
      const resolved = resolve(whole[1] ?? '', trigger) ?? '';
      budget.chargeValue(resolved, depth);
      return resolved;
    }
    budget.charge(2);
    const parts: string[] = [];
    let last = 0;
    for (const match of value.matchAll(PLACEHOLDER)) {
      const literal = value.slice(last, match.index);
      budget.chargeText(literal);
      const text = asText(resolve(match[1] ?? '', trigger), budget);
      budget.chargeText(text);
      parts.push(literal, text);
      last = match.index + match[0].length;
    }
    const rest = value.slice(last);
    budget.chargeText(rest);
    parts.push(rest);
    return parts.join('');
  }
  if (Array.isArray(value)) {
    budget.enter(depth + 1);
    budget.charge(2 + Math.max(0, value.length - 1));
    return value.map((item) => render(item, trigger, budget, depth + 1));
  }
  if (value !== null && typeof value === 'object') {
    budget.enter(depth + 1);
    const entries = Object.entries(value);
    budget.charge(2 + Math.max(0, entries.length - 1));
    return Object.fromEntries(
      entries.map(([key, item]) => {
        budget.charge(3);
        budget.chargeText(key);
        return [key, render(item, trigger, budget, depth + 1)];
      }),
    );
  }
  budget.charge(JSON.stringify(value).length);
  return value;
}

/**
 * Renders every template in `value`. A string that is exactly one placeholder takes the referenced
 * value as it is (an object stays an object); placeholders inside longer text are stringified, and a
 * missing value renders as empty text.
 *
 * The output's size (as JSON) and depth are counted while it is produced: past either limit the render
 * throws RenderLimitExceeded before the oversized value exists, so 300 copies of a large field cost one
 * field's worth of work, not 300.
 */
export function renderTemplates(
  value: JsonValue,
  scope: { trigger: JsonValue },
  limits: RenderLimits = DEFAULT_RENDER_LIMITS,
): JsonValue {
  return render(value, scope.trigger, new RenderBudget(limits), 0);
}

/**
 * What one placeholder renders as inside longer text; URL templates encode it (url-templates.ts).
 * Bounded like any render: a placeholder past the limits throws RenderLimitExceeded.
 */
export function renderPlaceholderText(
  expression: string,
  trigger: JsonValue,
  limits: RenderLimits = DEFAULT_RENDER_LIMITS,
): string {
  const budget = new RenderBudget(limits);
  const text = asText(resolve(expression, trigger), budget);
  budget.chargeText(text);
  return text;
}
