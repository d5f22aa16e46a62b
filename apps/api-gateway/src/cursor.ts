import { problems } from '@autoflow/http-kit';
import { z } from 'zod';
import { MAX_ROW_ID } from './schemas.js';

// Opaque cursors for keyset pagination: the sort key of the last item, base64url JSON. Each list
// declares its key's shape; a cursor that does not decode to it answers 400, never reaches SQL.

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

const invalidCursor = () =>
  problems.validationFailed([{ path: ['querystring', 'cursor'], message: 'invalid cursor' }]);

export function decodeCursor<T>(cursor: string | undefined, shape: z.ZodType<T>): T | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  const key = shape.safeParse(parsed);
  if (!key.success) throw invalidCursor();
  return key.data;
}

/** A row id: a positive int4. */
export const rowId = z.number().int().positive().max(MAX_ROW_ID);

/**
 * A timestamp at Postgres' own precision (microseconds), as Postgres prints it in UTC: a JavaScript
 * Date keeps milliseconds only, and a cursor rounded to them skips the rows of that millisecond.
 */
export const microsecondTimestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)
  .refine((text) => !Number.isNaN(Date.parse(text)));
