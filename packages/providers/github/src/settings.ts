import { z } from 'zod';

/** What the GitHub provider reads from the deployment's environment. */
export const githubSettings = z.object({
  /** GitHub's REST API; a GitHub Enterprise server's, or a local fake in tests. */
  GITHUB_API_URL: z.url().default('https://api.github.com'),
});
