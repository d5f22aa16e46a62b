import type { ListenerServices } from '@autoflow/provider-registry';
import { WebClient } from '@slack/web-api';
import type { SlackWorkspaceActivities } from './contracts.js';
import type { SlackSettings } from './settings.js';

/** The workspace workflow's activity: it keeps the credential's team id in its listener record. */
export function createWorkspaceActivities(
  services: ListenerServices<SlackSettings>,
): SlackWorkspaceActivities {
  return {
    async slackSyncWorkspace({ credentialId }) {
      if ((await services.subscribers(credentialId)).length === 0) {
        await services.records.remove(credentialId);
        return { listening: false };
      }
      if (await services.records.get(credentialId)) return { listening: true };
      const slackApiUrl = services.settings.SLACK_API_URL.replace(/\/?$/, '/');
      const teamId = await services.withAccessTokenFor(credentialId, slackApiUrl, async (accessToken) => {
        const answer = await new WebClient(accessToken, {
          slackApiUrl,
          retryConfig: { retries: 0 },
        }).auth.test();
        return answer.team_id;
      });
      if (!teamId) throw new Error('Slack auth.test named no team');
      await services.records.save(credentialId, {
        account: teamId,
        cursor: null,
        watchedAt: null,
        watchExpiresAt: null,
      });
      return { listening: true };
    },
  };
}
