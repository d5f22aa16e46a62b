import { describe, expect, it } from 'vitest';
import { envSchema } from './env.js';

const required = {
  DATABASE_URL: 'postgres://localhost/autoflow',
  JWT_SECRET: 'x'.repeat(32),
  ENCRYPTION_KEYS: 'k1:AAAA',
};

describe('OAUTH_DEFAULT_REDIRECT_URL', () => {
  it('defaults to the first origin of the allow-list', () => {
    const env = envSchema.parse({
      ...required,
      OAUTH_REDIRECT_ALLOWLIST: 'https://app.example.com, https://admin.example.com',
    });
    expect(env.OAUTH_DEFAULT_REDIRECT_URL).toBe('https://app.example.com/');
  });

  it('treats an empty value (compose passes unset variables so) as unset', () => {
    const env = envSchema.parse({ ...required, OAUTH_DEFAULT_REDIRECT_URL: '' });
    expect(env.OAUTH_DEFAULT_REDIRECT_URL).toBe('http://localhost:5173/');
  });

  it('takes a page on an allowed origin', () => {
    const env = envSchema.parse({
      ...required,
      OAUTH_REDIRECT_ALLOWLIST: 'https://app.example.com',
      OAUTH_DEFAULT_REDIRECT_URL: 'https://app.example.com/settings/connections',
    });
    expect(env.OAUTH_DEFAULT_REDIRECT_URL).toBe('https://app.example.com/settings/connections');
  });

  it('refuses a page off the allow-list, or no origin at all, naming the variable', () => {
    for (const env of [
      {
        OAUTH_REDIRECT_ALLOWLIST: 'https://app.example.com',
        OAUTH_DEFAULT_REDIRECT_URL: 'https://evil.test/',
      },
      { OAUTH_REDIRECT_ALLOWLIST: ' , ' },
    ]) {
      const parsed = envSchema.safeParse({ ...required, ...env });
      expect(parsed.success).toBe(false);
      expect(JSON.stringify(parsed.error?.issues)).toContain('OAUTH_DEFAULT_REDIRECT_URL');
    }
  });
});
