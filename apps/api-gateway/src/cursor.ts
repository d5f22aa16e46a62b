// Opaque cursors for keyset pagination: the sort key of the last item, base64url JSON.

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): (string | number)[] | undefined {
  if (!cursor) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.every((part) => typeof part === 'string' || typeof part === 'number')
    ) {
      return parsed;
    }
  } catch {
    // falls through to undefined
  }
  return undefined;
}
