import type { OAuth2AuthSpec } from '@autoflow/provider-registry';

/** Google OAuth 2.0, as data. `access_type=offline` asks for a refresh token; `prompt=consent` re-issues it. */
export const googleAuth: OAuth2AuthSpec = {
  type: 'oauth2',
  authorizeUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
  tokenUrl: 'https://oauth2.googleapis.com/token',
  revokeUrl: 'https://oauth2.googleapis.com/revoke',
  scopes: [
    'https://www.googleapis.com/auth/gmail.readonly',
    'https://www.googleapis.com/auth/gmail.send',
    'https://www.googleapis.com/auth/userinfo.email',
  ],
  // Gmail's API and Google's general API host (batch, userinfo); never a host outside Google.
  apiHosts: ['gmail.googleapis.com', 'www.googleapis.com'],
  apiBaseUrlSettings: ['GMAIL_API_ROOT_URL'],
  authorizeParams: { access_type: 'offline', prompt: 'consent', include_granted_scopes: 'true' },
  env: {
    authorizeUrl: 'GOOGLE_OAUTH_AUTHORIZE_URL',
    tokenUrl: 'GOOGLE_OAUTH_TOKEN_URL',
    revokeUrl: 'GOOGLE_OAUTH_REVOKE_URL',
    clientId: 'GOOGLE_OAUTH_CLIENT_ID',
    clientSecret: 'GOOGLE_OAUTH_CLIENT_SECRET',
  },
  identity: {
    baseUrl: 'https://gmail.googleapis.com',
    baseUrlEnv: 'GMAIL_API_ROOT_URL',
    path: '/gmail/v1/users/me/profile',
    accountField: 'emailAddress',
  },
};
