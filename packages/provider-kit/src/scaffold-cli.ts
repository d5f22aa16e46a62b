// `pnpm new-provider <id>`: a provider package with one action and its contract test, ready to edit.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const id = process.argv[2] ?? '';
if (!/^[a-z][a-z0-9-]*$/.test(id)) {
  console.error('usage: pnpm new-provider <id>   (lower-case kebab, e.g. "linear")');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dir = join(root, 'packages', 'providers', id);
if (existsSync(dir)) {
  console.error(`${dir} exists already`);
  process.exit(1);
}
const camel = id.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
const upper = id.toUpperCase().replace(/-/g, '_');

const files: Record<string, string> = {
  'package.json': `${JSON.stringify(
    {
      name: `@autoflow/provider-${id}`,
      version: '0.0.0',
      private: true,
      description: `${id} provider`,
      type: 'module',
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      scripts: {
        build: 'tsc -p tsconfig.build.json',
        typecheck: 'tsc -p tsconfig.json --noEmit',
        lint: 'biome check .',
        test: 'vitest run',
      },
      dependencies: { '@autoflow/provider-registry': 'workspace:*', undici: '^8.0.0', zod: '^4.0.0' },
      devDependencies: { '@autoflow/provider-kit': 'workspace:*', vitest: '^4.0.0' },
    },
    null,
    2,
  )}\n`,
  'tsconfig.json': `${JSON.stringify({ extends: '../../../tsconfig.base.json', compilerOptions: { noEmit: true, rootDir: '.' }, include: ['src', 'test'] }, null, 2)}\n`,
  'tsconfig.build.json': `${JSON.stringify({ extends: '../../../tsconfig.base.json', compilerOptions: { outDir: 'dist', rootDir: 'src' }, include: ['src'] }, null, 2)}\n`,
  'src/settings.ts': `import { z } from 'zod';

/** What this provider reads from the deployment's environment (the worker parses it once at start). */
export const ${camel}Settings = z.object({
  /** The API's base URL; tests point it at a fake. */
  ${upper}_API_URL: z.url().default('https://api.example.com'),
});
`,
  'src/index.ts': `import { defineProvider } from '@autoflow/provider-registry';
import { exampleAction } from './actions/example.js';
import { ${camel}Settings } from './settings.js';

export const ${camel}Provider = defineProvider({
  id: '${id}',
  name: '${id}',
  // Or { type: 'oauth2', authorizeUrl, tokenUrl, scopes, apiHosts, apiBaseUrlSettings, env: { … } }:
  // see packages/providers/github/src/auth.ts.
  auth: { type: 'none' },
  settings: ${camel}Settings,
  triggers: [],
  actions: [exampleAction],
});
`,
  'src/actions/example.ts': `import { defineAction, PermanentActionError, RetryableActionError } from '@autoflow/provider-registry';
import { request } from 'undici';
import { z } from 'zod';
import { ${camel}Settings } from '../settings.js';

export const exampleAction = defineAction({
  id: 'example',
  name: 'Example',
  description: 'Replace me: one small file per action.',
  config: z.object({ message: z.string().min(1) }),
  output: z.object({ status: z.number() }),
  settings: ${camel}Settings,
  sampleConfig: () => ({ message: 'hello' }),
  // With a credential: \`credential.withAccessTokenFor(url, async (token) => …)\` calls back with its token, for the
  // provider's hosts only; throw TokenRejectedError on a 401 and the platform renews the token and calls once more.
  async run({ config, settings, httpDispatcher, idempotencyKey, signal }) {
    const base = settings.${upper}_API_URL;
    const response = await request(\`\${base}/messages\`, {
      method: 'POST',
      dispatcher: httpDispatcher,
      signal,
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(config),
    });
    await response.body.dump();
    const status = response.statusCode;
    if (status === 429 || status >= 500) {
      const retryAfter = Number(response.headers['retry-after']);
      throw new RetryableActionError(\`HTTP \${status}\`, Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined);
    }
    if (status >= 400) throw new PermanentActionError(\`HTTP \${status}\`);
    return { status };
  },
});
`,
  'test/contract.test.ts': `import { checkProvider } from '@autoflow/provider-kit';
import { expect, it } from 'vitest';
import { ${camel}Provider } from '../src/index.js';

it('keeps the provider contract', async () => {
  expect(await checkProvider(${camel}Provider)).toEqual([]);
});
`,
};
for (const [name, content] of Object.entries(files)) {
  await mkdir(dirname(join(dir, name)), { recursive: true });
  await writeFile(join(dir, name), content);
}
// The project's formatter has the last word on layout.
execFileSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', dir], { stdio: 'ignore' });
console.log(`created packages/providers/${id}. Next:
  1. add "@autoflow/provider-${id}": "workspace:*" to packages/installed-providers/package.json
  2. add ${camel}Provider to the list in packages/installed-providers/src/index.ts
  3. pnpm install && pnpm exec turbo run build test --filter=@autoflow/provider-${id}`);
