import { describe, expect, it } from 'vitest';
import { listTemplateReferences, renderTemplates, schemaHasPath } from '../src/index.js';

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
