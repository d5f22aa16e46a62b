import {
  defineAction,
  PermanentActionError,
  RetryableActionError,
  TokenRejectedError,
} from '@autoflow/provider-registry';
import { request } from 'undici';
import { z } from 'zod';
import { githubSettings } from '../settings.js';

export const createIssueAction = defineAction({
  id: 'create-issue',
  name: 'Create an issue',
  description: 'Opens an issue in a repository as the connected account.',
  config: z.object({
    owner: z.string().min(1).max(100),
    repo: z.string().min(1).max(100),
    title: z.string().min(1).max(256),
    body: z.string().max(65_536).optional(),
    labels: z.array(z.string().max(50)).max(20).optional(),
  }),
  output: z.object({ number: z.number(), url: z.string() }),
  settings: githubSettings,
  sampleConfig: () => ({ owner: 'octo', repo: 'hello', title: 'A bug' }),
  async run({ config, credential, settings, httpDispatcher, signal }) {
    if (!credential) throw new PermanentActionError('create-issue needs a GitHub credential');
    const base = settings.GITHUB_API_URL.replace(/\/$/, '');
    const url = `${base}/repos/${encodeURIComponent(config.owner)}/${encodeURIComponent(config.repo)}/issues`;
    const response = await credential.withAccessTokenFor(url, async (accessToken) => {
      const answer = await request(url, {
        method: 'POST',
        dispatcher: httpDispatcher,
        signal,
        headers: {
          authorization: `Bearer ${accessToken}`,
          accept: 'application/vnd.github+json',
          'content-type': 'application/json',
          'user-agent': 'autoflow',
          'x-github-api-version': '2022-11-28',
        },
        body: JSON.stringify({ title: config.title, body: config.body, labels: config.labels }),
      }).catch((error: unknown) => {
        throw new RetryableActionError(
          `GitHub could not be reached: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
      // "Bad credentials": the token was revoked or expired; the platform renews it and calls again.
      if (answer.statusCode === 401) {
        await answer.body.dump();
        throw new TokenRejectedError('GitHub answered 401 (bad credentials)');
      }
      return answer;
    });
    const answer: unknown = await response.body.json().catch(() => null);
    const message =
      typeof answer === 'object' && answer !== null && 'message' in answer ? String(answer.message) : '';
    const status = response.statusCode;
    const rateLimited =
      status === 429 || (status === 403 && response.headers['x-ratelimit-remaining'] === '0');
    if (rateLimited) {
      const reset = Number(response.headers['x-ratelimit-reset']);
      const retryAfter = Number(response.headers['retry-after']);
      const waitMs =
        Number.isFinite(retryAfter) && retryAfter > 0
          ? retryAfter * 1000
          : Math.max(0, reset * 1000 - Date.now());
      throw new RetryableActionError(
        `GitHub rate limit: ${message}`,
        Number.isFinite(waitMs) ? waitMs : undefined,
      );
    }
    if (status >= 500) throw new RetryableActionError(`GitHub answered ${status}: ${message}`);
    if (status >= 400) throw new PermanentActionError(`GitHub refused the issue (${status}): ${message}`);
    const parsed = z.object({ number: z.number(), html_url: z.string() }).safeParse(answer);
    if (!parsed.success) throw new PermanentActionError('GitHub answered an unexpected body');
    return { number: parsed.data.number, url: parsed.data.html_url };
  },
});
