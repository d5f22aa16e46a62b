import type { JsonValue } from '@autoflow/workflow-contracts';
import { toJson } from './registry.js';

// Helpers for webhook triggers' `output`: what every sender's request needs.

/** A body that is not what its content type says; trigger-ingest answers 400. */
export class InvalidWebhookBody extends Error {
  override name = 'InvalidWebhookBody';
}

export function parseWebhookBody(raw: string, contentType: string | undefined): JsonValue {
  if (raw.length === 0) return null;
  if (/\bjson\b/i.test(contentType ?? '')) {
    try {
      return toJson(JSON.parse(raw));
    } catch {
      throw new InvalidWebhookBody('the body is not valid JSON');
    }
  }
  if (/application\/x-www-form-urlencoded/i.test(contentType ?? ''))
    return Object.fromEntries(new URLSearchParams(raw));
  return raw;
}

/** Headers that authenticate the sender are not the workflow's data. */
const HIDDEN_HEADERS = new Set([
  'authorization',
  'cookie',
  'proxy-authorization',
  'webhook-signature',
  'x-hub-signature',
  'x-hub-signature-256',
]);

export function visibleHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HIDDEN_HEADERS.has(name)));
}
