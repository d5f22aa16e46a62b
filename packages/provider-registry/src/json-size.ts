// Sizes of JSON text, counted without building it: the bounds of design notes §11 are in bytes of the
// JSON that Temporal and Postgres receive (UTF-8, escaped as JSON.stringify escapes).

/** \b \t \n \f \r; other control characters take the six bytes of \u00XX. */
const SHORT_ESCAPES = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d]);

/** UTF-8 bytes of one UTF-16 unit at `index` inside a JSON string, and how many units it spans. */
function unitCost(text: string, index: number): [bytes: number, units: number] {
  const code = text.charCodeAt(index);
  if (code === 0x22 || code === 0x5c) return [2, 1];
  if (code < 0x20) return [SHORT_ESCAPES.has(code) ? 2 : 6, 1];
  if (code < 0x80) return [1, 1];
  if (code < 0x800) return [2, 1];
  if (code >= 0xd800 && code <= 0xdbff) {
    const next = text.charCodeAt(index + 1);
    // A pair is one 4-byte character; a lone surrogate is written as \udxxx.
    return next >= 0xdc00 && next <= 0xdfff ? [4, 2] : [6, 1];
  }
  if (code >= 0xdc00 && code <= 0xdfff) return [6, 1];
  return [3, 1];
}

/** UTF-8 bytes of `text` inside a JSON string, without its quotes. */
export function jsonTextBytes(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; ) {
    const [cost, units] = unitCost(text, index);
    bytes += cost;
    index += units;
  }
  return bytes;
}

/** The longest start of `text` whose JSON string content fits `maxBytes`; never splits a character. */
export function jsonTextPrefix(text: string, maxBytes: number): string {
  let bytes = 0;
  let index = 0;
  while (index < text.length) {
    const [cost, units] = unitCost(text, index);
    if (bytes + cost > maxBytes) break;
    bytes += cost;
    index += units;
  }
  return index === text.length ? text : text.slice(0, index);
}
