import type { OAuth2AuthSpec } from '@autoflow/provider-registry';

/** A GitHub OAuth app, as data. */
export const githubAuth: OAuth2AuthSpec = {
  type: 'oauth2',
  authorizeUrl: 'https://github.com/login/oauth/authorize',
  tokenUrl: 'https://github.com/login/oauth/access_token',
  scopes: ['repo'],
  apiHosts: ['api.github.com'],
  apiBaseUrlSettings: ['GITHUB_API_URL'],
  env: {
    authorizeUrl: 'GITHUB_OAUTH_AUTHORIZE_URL',
    tokenUrl: 'GITHUB_OAUTH_TOKEN_URL',
    clientId: 'GITHUB_OAUTH_CLIENT_ID',
    clientSecret: 'GITHUB_OAUTH_CLIENT_SECRET',
  },
  identity: {
    baseUrl: 'https://api.github.com',
    baseUrlEnv: 'GITHUB_API_URL',
    path: '/user',
    accountField: 'login',
  },
};
