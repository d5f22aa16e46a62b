// The developers' guide: only apps read the environment. Library code under packages/ takes its values
// as arguments; command-line entry points (`cli.ts`, `*-cli.ts`) count as apps.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PACKAGES = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY_POINT = /(^|[/-])cli\.ts$/;
const READS_ENVIRONMENT = [
  /\bprocess\s*\.\s*env\b/,
  /\bprocess\s*\[\s*['"`]env['"`]\s*\]/,
  /\bfrom\s+['"](node:)?process['"]/,
  /\brequire\(\s*['"](node:)?process['"]\s*\)/,
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'dist') return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** Library source files: every package's `src/`, entry points excepted. */
function librarySources(): string[] {
  const roots = readdirSync(PACKAGES, { withFileTypes: true }).flatMap((entry) => {
    if (!entry.isDirectory()) return [];
    const dir = join(PACKAGES, entry.name);
    // packages/providers/<id>/src next to packages/<name>/src
    const nested = readdirSync(dir, { withFileTypes: true })
      .filter((child) => child.isDirectory() && child.name !== 'node_modules')
      .map((child) => join(dir, child.name, 'src'));
    return [join(dir, 'src'), ...nested];
  });
  return roots.flatMap((root) => {
    try {
      return sourceFiles(root);
    } catch {
      return [];
    }
  });
}

function withoutComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

function readsEnvironment(code: string): boolean {
  const text = withoutComments(code);
  return READS_ENVIRONMENT.some((pattern) => pattern.test(text));
}

describe('only apps read the environment', () => {
  it('finds a read in every form it looks for, and not in comments', () => {
    expect(readsEnvironment('const url = process.env.DATABASE_URL;')).toBe(true);
    expect(readsEnvironment("const env = process['env'];")).toBe(true);
    expect(readsEnvironment("import { env } from 'node:process';")).toBe(true);
    expect(readsEnvironment('// not process.env, a comment')).toBe(false);
    expect(readsEnvironment('/** the caller passes process.env */ const x = 1;')).toBe(false);
  });

  it('has no library source under packages/ that reads it', () => {
    const files = librarySources();
    expect(files.length).toBeGreaterThan(50);
    const offenders = files
      .filter((file) => !ENTRY_POINT.test(file))
      .filter((file) => readsEnvironment(readFileSync(file, 'utf8')))
      .map((file) => relative(PACKAGES, file));
    expect(offenders).toEqual([]);
  });
});
