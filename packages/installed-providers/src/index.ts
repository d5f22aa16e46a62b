import { githubProvider } from '@autoflow/provider-github';
import { gmailProvider } from '@autoflow/provider-gmail';
import { httpProvider } from '@autoflow/provider-http';
import { manualProvider } from '@autoflow/provider-manual';
import { ProviderRegistry } from '@autoflow/provider-registry';
import { scheduleProvider } from '@autoflow/provider-schedule';
import { slackProvider } from '@autoflow/provider-slack';
import { webhookProvider } from '@autoflow/provider-webhook';

/** Every provider this deployment ships. A new provider is one package and one line here. */
export const registry = new ProviderRegistry([
  manualProvider,
  webhookProvider,
  scheduleProvider,
  httpProvider,
  gmailProvider,
  slackProvider,
  githubProvider,
]);
