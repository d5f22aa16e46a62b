import type { JsonValue } from './index.js';

// What Postgres can store. `jsonb` refuses U+0000 and lone UTF-16 surrogates ("\ud800"), and `text`
// refuses U+0000. One rule everywhere:
// - text a user typed (names, descriptions, configs, any API request) is refused: `unstorableTextIssues`;
// - event data (webhook bodies, mails, any trigger data) is kept, with each such character replaced by
//   U+FFFD: `storableJson`, applied where every run starts (RunStarter).
// Every walk here is iterative: it runs on input before its depth is known to be bounded.

/** U+0000, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly what this looks for.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

export const REPLACEMENT_CHARACTER = '\ufffd';

export function hasUnstorableText(text: string): boolean {
  return UNSTORABLE.test(text);
}

export function storableText(text: string): string {
  return hasUnstorableText(text) ? text.replace(UNSTORABLE_ALL, REPLACEMENT_CHARACTER) : text;
}

export interface UnstorableTextIssue {
  /** Where the text is; for an object key, the object holding it. */
  path: (string | number)[];
  message: string;
}

const UNSTORABLE_MESSAGE = 'contains a character that cannot be stored (U+0000 or a lone UTF-16 surrogate)';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every string and object key in `value` that Postgres could not store, with its path (at most `max`). */
export function unstorableTextIssues(
  value: unknown,
  basePath: (string | number)[] = [],
  max = 10,
): UnstorableTextIssue[] {
  const issues: UnstorableTextIssue[] = [];
  const pending: { value: unknown; path: (string | number)[] }[] = [{ value, path: basePath }];
  while (pending.length > 0 && issues.length < max) {
    const next = pending.pop();
    if (!next) break;
    if (typeof next.value === 'string') {
      if (hasUnstorableText(next.value)) issues.push({ path: next.path, message: UNSTORABLE_MESSAGE });
    } else if (Array.isArray(next.value)) {
      next.value.forEach((item, index) => {
        pending.push({ value: item, path: [...next.path, index] });
      });
    } else if (isRecord(next.value)) {
      for (const [key, item] of Object.entries(next.value)) {
        if (hasUnstorableText(key)) {
          issues.push({ path: next.path, message: `a key ${UNSTORABLE_MESSAGE}` });
          continue;
        }
        pending.push({ value: item, path: [...next.path, key] });
      }
    }
  }
  return issues;
}

/** Whether arrays and objects nest deeper than `maxDepth` (`{}` is depth 1, a scalar 0). */
export function exceedsJsonDepth(value: unknown, maxDepth: number): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const next = pending.pop();
    if (!next || typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > maxDepth) return true;
    const items = Array.isArray(next.value) ? next.value : Object.values(next.value);
    for (const item of items) {
      if (typeof item === 'object' && item !== null) pending.push({ value: item, depth });
    }
  }
  return false;
}

/**
 * Whether JSON text nests deeper than `maxDepth`, read from the text before any parsing: brackets
 * outside strings. Text that is not JSON gives an answer too; its parser refuses it later.
 */
export function exceedsJsonTextDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c /* \ */) index++;
      else if (char === 0x22 /* " */) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b /* { */ || char === 0x5b /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

/**
 * `value` as JSON that Postgres stores: strings and keys with U+0000 or lone surrogates get U+FFFD in
 * their place; non-finite numbers, functions and undefined become null. Recursive: callers bound the
 * depth first (MAX_JSON_DEPTH at every edge).
 */
export function storableJson(value: unknown): JsonValue {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(storableJson);
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [storableText(key), storableJson(item)]),
    );
  }
  return null;
}
