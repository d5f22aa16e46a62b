import type { OAuth2AuthSpec } from '@autoflow/provider-registry';

/** Slack OAuth v2 (a bot token), as data. */
export const slackAuth: OAuth2AuthSpec = {
  type: 'oauth2',
  authorizeUrl: 'https://slack.com/oauth/v2/authorize',
  tokenUrl: 'https://slack.com/api/oauth.v2.access',
  revokeUrl: 'https://slack.com/api/auth.revoke',
  scopes: ['chat:write', 'channels:read'],
  apiHosts: ['slack.com'],
  apiBaseUrlSettings: ['SLACK_API_URL'],
  env: {
    authorizeUrl: 'SLACK_OAUTH_AUTHORIZE_URL',
    tokenUrl: 'SLACK_OAUTH_TOKEN_URL',
    clientId: 'SLACK_OAUTH_CLIENT_ID',
    clientSecret: 'SLACK_OAUTH_CLIENT_SECRET',
  },
  identity: {
    baseUrl: 'https://slack.com/api',
    baseUrlEnv: 'SLACK_API_URL',
    path: '/auth.test',
    accountField: 'user',
  },
};
