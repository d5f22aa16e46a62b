import { describe, expect, it } from 'vitest';
import { jsonTextBytes, jsonTextPrefix } from '../src/index.js';

const texts = [
  '',
  'plain ascii',
  'quote " backslash \\ tab \t newline \n',
  'nul \u0000 bell \u0007 escape \u001b',
  'é € 😀 mixed',
  'lone \ud800 high and \udc00 low',
];

const jsonBytes = (text: string) => Buffer.byteLength(JSON.stringify(text)) - 2;

describe('jsonTextBytes', () => {
  it('counts what JSON.stringify writes, in UTF-8 bytes', () => {
    for (const text of texts) expect(jsonTextBytes(text)).toBe(jsonBytes(text));
  });
});

describe('jsonTextPrefix', () => {
  it('keeps the longest start that fits, never splitting a character', () => {
    const text = texts.join('|');
    for (let maxBytes = 0; maxBytes <= jsonBytes(text) + 1; maxBytes++) {
      const prefix = jsonTextPrefix(text, maxBytes);
      expect(text.startsWith(prefix)).toBe(true);
      expect(jsonBytes(prefix)).toBeLessThanOrEqual(maxBytes);
      if (prefix.length < text.length) {
        // One more character would not fit (a surrogate pair counts as one).
        const next = text.codePointAt(prefix.length) ?? 0;
        const longer = text.slice(0, prefix.length + (next > 0xffff ? 2 : 1));
        expect(jsonBytes(longer)).toBeGreaterThan(maxBytes);
      }
    }
    expect(jsonTextPrefix('a😀', 2)).toBe('a');
    expect(jsonTextPrefix('a😀', 5)).toBe('a😀');
  });
});
