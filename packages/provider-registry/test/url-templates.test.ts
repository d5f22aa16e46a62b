import { describe, expect, it } from 'vitest';
import { checkUrlTemplate, renderUrlFields, renderUrlTemplate, UrlTemplateError } from '../src/index.js';

const trigger = {
  body: {
    p: '@127.0.0.1:9995/stolen',
    name: 'Ada Lovelace',
    tricky: 'a/b?c=d&e#f',
    dots: '..',
    dot: '.',
    id: 42,
  },
};

describe('checkUrlTemplate', () => {
  it('answers the literal origin of a template', () => {
    expect(
      checkUrlTemplate('https://api.example.com:8443/users/{{trigger.body.id}}?q={{trigger.body.name}}'),
    ).toEqual({
      protocol: 'https:',
      hostname: 'api.example.com',
      port: '8443',
      host: 'api.example.com:8443',
    });
  });

  it.each([
    [
      'the userinfo trick: a placeholder right after the host',
      'http://partner.example.com{{trigger.body.p}}',
    ],
    ['a placeholder in the host', 'http://{{trigger.body.host}}/x'],
    ['a placeholder in the port', 'http://example.com:{{trigger.body.port}}/x'],
    ['a whole-URL placeholder', '{{trigger.body.url}}'],
    ['a placeholder in the scheme', '{{trigger.body.scheme}}://example.com/x'],
    ['a placeholder in a query name', 'https://example.com/x?{{trigger.body.name}}=1'],
    ['a placeholder as a bare query part', 'https://example.com/x?a=1&{{trigger.body.name}}'],
    ['a placeholder in the fragment', 'https://example.com/x#{{trigger.body.name}}'],
    ['userinfo in the literal part', 'https://user:pw@example.com/x'],
    ['no path before the placeholder', 'https://example.com?q={{trigger.body.name}}'],
    ['another scheme', 'ftp://example.com/{{trigger.body.name}}'],
  ])('refuses %s', (_, template) => {
    expect(() => checkUrlTemplate(template)).toThrow(UrlTemplateError);
  });

  it('accepts plain URLs with a path', () => {
    expect(checkUrlTemplate('http://127.0.0.1:3000/hook').host).toBe('127.0.0.1:3000');
  });
});

describe('renderUrlTemplate', () => {
  it('percent-encodes every value, so it cannot leave its path segment or query value', () => {
    expect(
      renderUrlTemplate(
        'https://api.example.com/u/{{trigger.body.p}}/x?q={{trigger.body.tricky}}&n={{trigger.body.id}}',
        {
          trigger,
        },
      ),
    ).toBe('https://api.example.com/u/%40127.0.0.1%3A9995%2Fstolen/x?q=a%2Fb%3Fc%3Dd%26e%23f&n=42');
  });

  it('keeps the origin for the issue reproduction once the template is allowed to render', () => {
    // With a path before it, the same value is only data.
    const url = new URL(renderUrlTemplate('http://partner.example.com/{{trigger.body.p}}', { trigger }));
    expect(url.host).toBe('partner.example.com');
    expect(url.username).toBe('');
  });

  it('fails a stored template that could change its origin, whatever the value', () => {
    expect(() => renderUrlTemplate('http://partner.example.com{{trigger.body.p}}', { trigger })).toThrow(
      UrlTemplateError,
    );
  });

  it('fails a value that makes a dot segment', () => {
    expect(() => renderUrlTemplate('https://example.com/a/{{trigger.body.dots}}/admin', { trigger })).toThrow(
      /path segment/,
    );
    expect(() => renderUrlTemplate('https://example.com/a/{{trigger.body.dot}}', { trigger })).toThrow(
      /path segment/,
    );
    expect(renderUrlTemplate('https://example.com/a/x{{trigger.body.dots}}', { trigger })).toBe(
      'https://example.com/a/x..',
    );
  });

  it('renders a missing value as empty text', () => {
    expect(
      renderUrlTemplate('https://example.com/a/{{trigger.body.none}}?q={{trigger.body.none}}', { trigger }),
    ).toBe('https://example.com/a/?q=');
  });
});

describe('renderUrlFields', () => {
  it('replaces only the declared URL fields, from the stored config', () => {
    const stored = { url: 'https://example.com/{{trigger.body.p}}', note: '{{trigger.body.p}}' };
    const rendered = { url: 'https://example.com/@127.0.0.1:9995/stolen', note: '@127.0.0.1:9995/stolen' };
    expect(renderUrlFields({ urlFields: ['url'] }, stored, rendered, { trigger })).toEqual({
      url: 'https://example.com/%40127.0.0.1%3A9995%2Fstolen',
      note: '@127.0.0.1:9995/stolen',
    });
  });

  it('names the field in its error', () => {
    expect(() =>
      renderUrlFields({ urlFields: ['url'] }, { url: 'http://h{{trigger.body.p}}' }, {}, { trigger }),
    ).toThrow(/^url: /);
  });
});
