import { type JsonValue, MAX_JSON_DEPTH, MAX_RENDERED_CONFIG_BYTES } from '@autoflow/workflow-contracts';
import { describe, expect, it } from 'vitest';
import {
  jsonTextBytes,
  listTemplateReferences,
  RenderLimitExceeded,
  renderTemplates,
  schemaHasPath,
} from '../src/index.js';

const trigger = { body: { name: 'Ada', tags: ['a', 'b'], nested: { n: 3 } }, headers: {} };

describe('renderTemplates', () => {
  it('interpolates text and keeps a whole placeholder typed', () => {
    expect(
      renderTemplates(
        {
          greeting: 'Hello {{ trigger.body.name }}!',
          tags: '{{trigger.body.tags}}',
          n: '{{trigger.body.nested.n}}',
        },
        { trigger },
      ),
    ).toEqual({ greeting: 'Hello Ada!', tags: ['a', 'b'], n: 3 });
  });

  it('renders missing values, array indexes and non-strings inside text', () => {
    expect(
      renderTemplates('[{{trigger.body.missing}}] {{trigger.body.tags.1}} {{trigger.body.nested}}', {
        trigger,
      }),
    ).toBe('[] b {"n":3}');
  });

  it('never reads through the prototype chain', () => {
    expect(
      renderTemplates('{{trigger.body.constructor}}|{{trigger.__proto__}}|{{trigger.body.toString}}', {
        trigger,
      }),
    ).toBe('||');
  });
});

/** Nested `{a: {a: … {a: leaf}}}` built without recursion, `levels` objects deep. */
function nested(levels: number, leaf: JsonValue = 'leaf'): JsonValue {
  let value = leaf;
  for (let level = 0; level < levels; level++) value = { a: value };
  return value;
}

function renderError(run: () => unknown): RenderLimitExceeded {
  try {
    run();
  } catch (error) {
    if (error instanceof RenderLimitExceeded) return error;
    throw error;
  }
  throw new Error('the render did not stop');
}

describe('renderTemplates budget', () => {
  const texts = [
    'plain',
    'quote " backslash \\ tab \t nl \n',
    'nul \u0000 bell \u0007',
    'é € 😀',
    'lone \ud800 x',
  ];

  it('counts exactly the bytes of the JSON it produces', () => {
    const trigger = {
      body: { texts, n: -1.5e-7, yes: true, none: null, deep: { list: [1, 'two', { 3: [] }] } },
    };
    const config: JsonValue = {
      'key "quoted"': '{{trigger.body.deep}}',
      list: ['{{trigger.body.texts}}', 'n={{trigger.body.n}} {{trigger.body.deep}} {{trigger.body.missing}}'],
      flags: ['{{trigger.body.yes}}', '{{trigger.body.none}}', 7, false, null],
      texts: texts.map((_, index) => `<{{trigger.body.texts.${index}}}>`),
    };
    const rendered = renderTemplates(config, { trigger });
    const size = Buffer.byteLength(JSON.stringify(rendered));
    for (const text of texts) expect(jsonTextBytes(text)).toBe(Buffer.byteLength(JSON.stringify(text)) - 2);
    // The limit is inclusive: exactly the size renders, one byte less stops.
    expect(renderTemplates(config, { trigger }, { maxBytes: size, maxDepth: MAX_JSON_DEPTH })).toEqual(
      rendered,
    );
    const stopped = renderError(() =>
      renderTemplates(config, { trigger }, { maxBytes: size - 1, maxDepth: MAX_JSON_DEPTH }),
    );
    expect(stopped.limit).toBe('MAX_RENDERED_CONFIG_BYTES');
  });

  it('stops 300 copies of a 900 kB field after the first copies, naming the limit and the bytes', () => {
    const big = 'x'.repeat(900 * 1024);
    const copies = (template: string) => Array.from({ length: 300 }, () => template);
    for (const template of [
      '{{trigger.body.big}}',
      'copy: {{trigger.body.big}}',
      '{{trigger.body}}',
      '{{ trigger.body }}!',
    ]) {
      const started = performance.now();
      const error = renderError(() => renderTemplates(copies(template), { trigger: { body: { big } } }));
      const elapsedMs = performance.now() - started;
      expect(error.limit).toBe('MAX_RENDERED_CONFIG_BYTES');
      expect(error.allowed).toBe(MAX_RENDERED_CONFIG_BYTES);
      // Stopped within two copies of the field: nothing near 300 × 900 kB was counted, let alone built.
      expect(error.reached).toBeGreaterThan(MAX_RENDERED_CONFIG_BYTES);
      expect(error.reached).toBeLessThan(MAX_RENDERED_CONFIG_BYTES + 2 * big.length);
      expect(error.message).toContain('MAX_RENDERED_CONFIG_BYTES');
      expect(error.message).toContain(`${MAX_RENDERED_CONFIG_BYTES} bytes`);
      expect(error.message).toContain(`${error.reached} bytes`);
      console.info(
        `render of 300 × ${template} stopped at ${error.reached} bytes in ${elapsedMs.toFixed(1)} ms`,
      );
    }
  });

  it('renders up to the limit: two copies of a 400 kB field fit', () => {
    const big = 'y'.repeat(400 * 1024);
    const rendered = renderTemplates(['{{trigger.big}}', 'and {{trigger.big}}'], { trigger: { big } });
    expect(rendered).toEqual([big, `and ${big}`]);
  });

  it('refuses trigger data nested past MAX_JSON_DEPTH without overflowing the stack', () => {
    const trigger = { body: nested(200_000) };
    for (const template of ['{{trigger.body}}', 'as text: {{trigger.body}}', '{{trigger.body.a.a}}']) {
      const error = renderError(() => renderTemplates({ out: template }, { trigger }));
      expect(error.limit).toBe('MAX_JSON_DEPTH');
      expect(error.message).toContain(`MAX_JSON_DEPTH (${MAX_JSON_DEPTH} levels)`);
    }
    // Exactly at the limit renders: the config's own object is one level, the value the rest.
    const atLimit = { body: nested(MAX_JSON_DEPTH - 1) };
    expect(renderTemplates({ out: '{{trigger.body}}' }, { trigger: atLimit })).toEqual({ out: atLimit.body });
    expect(
      renderError(() => renderTemplates({ out: { more: '{{trigger.body}}' } }, { trigger: atLimit })).limit,
    ).toBe('MAX_JSON_DEPTH');
  });

  it('refuses a config nested past MAX_JSON_DEPTH without overflowing the stack', () => {
    const error = renderError(() => renderTemplates(nested(200_000), { trigger: {} }));
    expect(error.limit).toBe('MAX_JSON_DEPTH');
  });
});

describe('listTemplateReferences', () => {
  it('finds templates with their location and flags malformed ones', () => {
    const references = listTemplateReferences({
      url: 'https://x/{{trigger.body.id}}',
      body: { a: ['{{ user.id }}'] },
    });
    expect(references).toEqual([
      { location: 'url', expression: 'trigger.body.id', path: ['body', 'id'] },
      { location: 'body.a.0', expression: 'user.id', path: undefined },
    ]);
  });
});

describe('schemaHasPath', () => {
  const schema = {
    type: 'object',
    properties: {
      body: {},
      headers: { type: 'object', additionalProperties: { type: 'string' } },
      n: { type: 'number' },
    },
    additionalProperties: false,
  };
  it('accepts declared and open paths, rejects others', () => {
    expect(schemaHasPath(schema, ['body', 'deep', 'x'])).toBe(true);
    expect(schemaHasPath(schema, ['headers', 'x-anything'])).toBe(true);
    expect(schemaHasPath(schema, ['headers', 'x', 'y'])).toBe(false);
    expect(schemaHasPath(schema, ['subject'])).toBe(false);
    expect(schemaHasPath(schema, ['n', 'x'])).toBe(false);
  });
});
