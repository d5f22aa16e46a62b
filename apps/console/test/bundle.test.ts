import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The built console is public: it holds no secret and names no internal address. It reaches the API on
// its own origin (relative /api/… URLs), so nothing about the deployment is compiled in.

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const DEV_SECRETS = fileURLToPath(new URL('../../../.data/dev-secrets.json', import.meta.url));

function builtFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? builtFiles(join(directory, entry.name)) : [join(directory, entry.name)],
  );
}

/** Every string value of a JSON document (the dev secrets file holds keys and key lists). */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value, ...value.split(/[,=:]/)];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsOf);
  return [];
}

const bundle = existsSync(DIST)
  ? builtFiles(DIST).map((path) => ({ path, text: readFileSync(path, 'utf8') }))
  : [];

describe('the built console (apps/console/dist)', () => {
  it('exists: an index.html and its scripts', () => {
    expect(bundle.map((file) => file.path.slice(DIST.length))).toContain('index.html');
    expect(bundle.some((file) => file.path.endsWith('.js'))).toBe(true);
  });

  it('names no internal address: loopback, the apps’ ports, compose hostnames', () => {
    const internal = [
      /127\.0\.0\.1/,
      /localhost:\d+/,
      /0\.0\.0\.0/,
      /\b(api-gateway|oauth-service|trigger-ingest|worker|postgres|temporal)(:\d+)\b/,
      /:(3000|3001|3002|3003|5432|54329|7233|8233|9464)\b/,
      /\bprocess\.env\b/,
      /\bimport\.meta\.env\.(?!MODE|DEV|PROD|SSR|BASE_URL)\w+/,
    ];
    const found = bundle.flatMap((file) =>
      internal.flatMap((pattern) => {
        const match = pattern.exec(file.text);
        return match ? [`${file.path.slice(DIST.length)}: ${match[0]}`] : [];
      }),
    );
    expect(found).toEqual([]);
  });

  it('holds no value of the build’s environment and none of the dev stack’s secrets', () => {
    // Long values only: short ones ("1", "true", a locale) occur in any code.
    const secrets = new Set(
      [
        ...Object.values(process.env),
        ...(existsSync(DEV_SECRETS) ? stringsOf(JSON.parse(readFileSync(DEV_SECRETS, 'utf8'))) : []),
      ].filter((value): value is string => typeof value === 'string' && value.length >= 20),
    );
    const leaked = bundle.flatMap((file) =>
      [...secrets]
        .filter((secret) => file.text.includes(secret))
        .map((secret) => `${file.path}: ${secret.slice(0, 6)}…`),
    );
    expect(leaked).toEqual([]);
    // The names of the secrets the apps read do not appear either.
    for (const name of ['JWT_SECRET', 'ENCRYPTION_KEYS', 'CLIENT_SECRET', 'DATABASE_URL'])
      expect(
        bundle.filter((file) => file.text.includes(name)).map((file) => file.path),
        name,
      ).toEqual([]);
  });
});
