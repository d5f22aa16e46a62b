import { describe, expect, it } from 'vitest';
import {
  exceedsJsonDepth,
  exceedsJsonTextDepth,
  hasUnstorableText,
  storableJson,
  unstorableTextIssues,
} from '../src/index.js';

describe('text Postgres cannot store', () => {
  it('finds U+0000 and lone surrogates, not surrogate pairs', () => {
    for (const text of ['\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\udc00\ud800'])
      expect(hasUnstorableText(text), text).toBe(true);
    for (const text of ['', 'plain', '💥', 'é\u0001']) expect(hasUnstorableText(text), text).toBe(false);
  });

  it('names the path of every such string and key', () => {
    expect(unstorableTextIssues({ a: ['ok', 'x\u0000'], b: { '\ud800': 1 }, c: '💥' }, ['body'])).toEqual([
      { path: ['body', 'b'], message: expect.stringContaining('a key') },
      { path: ['body', 'a', 1], message: expect.stringContaining('U+0000') },
    ]);
  });

  it('makes event data storable: U+FFFD in place, pairs kept', () => {
    expect(storableJson({ a: 'x\u0000y', '\udfff': ['\ud800', '💥'], n: Number.NaN })).toEqual({
      a: 'x\ufffdy',
      '\ufffd': ['\ufffd', '💥'],
      n: null,
    });
  });
});

describe('nesting', () => {
  const nested = (depth: number) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

  it('measures parsed values without recursion', () => {
    expect(exceedsJsonDepth(nested(64), 64)).toBe(false);
    expect(exceedsJsonDepth(nested(65), 64)).toBe(true);
    expect(exceedsJsonDepth(nested(200_000), 64)).toBe(true);
    expect(exceedsJsonDepth('scalar', 0)).toBe(false);
  });

  it('measures text before parsing, ignoring brackets in strings', () => {
    expect(exceedsJsonTextDepth(`${'{"a":'.repeat(64)}1${'}'.repeat(64)}`, 64)).toBe(false);
    expect(exceedsJsonTextDepth(`${'{"a":'.repeat(65)}1${'}'.repeat(65)}`, 64)).toBe(true);
    expect(exceedsJsonTextDepth(`{"a":"${'['.repeat(100)}\\"["}`, 64)).toBe(false);
  });
});
