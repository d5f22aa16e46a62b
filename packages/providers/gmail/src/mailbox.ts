import {
  type ListenerRecord,
  type ListenerServices,
  type ListenerSubscriber,
  TokenRejectedError,
  toJson,
} from '@autoflow/provider-registry';
import type {
  GmailHistoryResult,
  GmailMailboxActivities,
  GmailWatchResult,
} from '@autoflow/workflow-contracts';
import type { gmail_v1 } from '@googleapis/gmail';
import { ApplicationFailure } from '@temporalio/common';
import { describeGmailFailure, gmailClient, isNotFound, isRateLimitedForbidden } from './api.js';
import { type Email, METADATA_HEADERS, matchesFilter, templatesReadBody, toEmail } from './email.js';
import type { GmailSettings } from './settings.js';
import { receiveEmailConfig } from './triggers/receive-email.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** How far before the cursor's time a resync starts looking: clocks and Gmail's indexing lag. */
const RESYNC_MARGIN_MS = 10 * 60 * 1000;
/** Labels of mails that did not arrive: the account's own drafts and sent mail (unless also in the inbox). */
const NOT_RECEIVED = new Set(['DRAFT', 'SPAM', 'TRASH', 'CHAT']);
/** Gmail's system label ids; any other label filter but `Label_12` may be a user label's name. */
const SYSTEM_LABEL_IDS = new Set([
  'INBOX',
  'SPAM',
  'TRASH',
  'UNREAD',
  'STARRED',
  'IMPORTANT',
  'SENT',
  'DRAFT',
  'CHAT',
  'CATEGORY_PERSONAL',
  'CATEGORY_SOCIAL',
  'CATEGORY_PROMOTIONS',
  'CATEGORY_UPDATES',
  'CATEGORY_FORUMS',
]);

interface MailboxSettings {
  /** `projects/{project}/topics/{topic}`: where Gmail publishes (GMAIL_PUBSUB_TOPIC). */
  topicName: string | undefined;
  renewEveryMs: number;
  resyncMaxMessages: number;
}

function mailboxSettingsFrom(settings: GmailSettings): MailboxSettings {
  return {
    topicName: settings.GMAIL_PUBSUB_TOPIC,
    renewEveryMs: settings.GMAIL_WATCH_RENEWAL_INTERVAL_MS,
    resyncMaxMessages: settings.GMAIL_RESYNC_MAX_MESSAGES,
  };
}

/** Failures the mailbox workflow waits out instead of retrying: Temporal must not hammer a dead grant. */
function unusable(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'MailboxUnusable');
}

function wasReceived(labelIds: readonly string[]): boolean {
  if (labelIds.some((label) => NOT_RECEIVED.has(label))) return false;
  return !labelIds.includes('SENT') || labelIds.includes('INBOX');
}

/**
 * Gmail failures as activity failures. A 401 is TokenRejectedError, which withGmail turns into one
 * renewal of the token; a 403 for a missing scope means the grant lacks it.
 */
function rethrow(error: unknown, what: string): never {
  const failure = describeGmailFailure(error);
  if (failure.status === 401) throw new TokenRejectedError(`${what}: Gmail answered 401`);
  if (failure.status === 403 && failure.reason === 'insufficientPermissions') {
    throw unusable(`${what}: Gmail refused the credential (${failure.status})`);
  }
  if (failure.status === 400 || (failure.status === 403 && !isRateLimitedForbidden(failure))) {
    throw ApplicationFailure.nonRetryable(`${what}: ${failure.message}`, 'MailboxUnusable');
  }
  throw ApplicationFailure.create({
    message: `${what}: Gmail answered ${failure.status ?? 'nothing'}: ${failure.message}`,
    type: 'GmailUnavailable',
    ...(failure.retryAfterMs === undefined ? {} : { nextRetryDelay: failure.retryAfterMs }),
  });
}

/**
 * The activities of the mailbox workflow (design notes §4). They are the only code that moves a
 * mailbox's cursor, and they run one at a time per mailbox, because only its workflow calls them.
 */
export function createMailboxActivities(services: ListenerServices<GmailSettings>): GmailMailboxActivities {
  const settings = mailboxSettingsFrom(services.settings);
  const rootUrl = services.settings.GMAIL_API_ROOT_URL;

  /**
   * Runs `use` with a Gmail client of the credential's token. A Gmail 401 inside renews the token once
   * and runs `use` again (whose reads and run starts are idempotent); failing to get a token (deleted,
   * needs reconnecting) or a renewed token refused again makes the mailbox unusable until the user acts.
   */
  async function withGmail<T>(credentialId: number, use: (gmail: gmail_v1.Gmail) => Promise<T>): Promise<T> {
    let failedInUse = false;
    try {
      return await services.withAccessTokenFor(credentialId, rootUrl, async (accessToken) => {
        failedInUse = false;
        try {
          return await use(gmailClient(accessToken, rootUrl, services.usage));
        } catch (error) {
          failedInUse = !(error instanceof TokenRejectedError);
          throw error;
        }
      });
    } catch (error) {
      if (failedInUse) throw error;
      if (error instanceof TokenRejectedError) {
        throw unusable(`${error.message}, also after renewing the token: Gmail refused the credential`);
      }
      throw unusable(error instanceof Error ? error.message : String(error));
    }
  }

  async function gmailSyncWatch({
    credentialId,
    renew,
  }: {
    credentialId: number;
    renew: boolean;
  }): Promise<GmailWatchResult> {
    const [subscribers, record] = await Promise.all([
      services.subscribers(credentialId),
      services.records.get(credentialId),
    ]);
    if (subscribers.length === 0) {
      if (record) {
        try {
          await withGmail(credentialId, (gmail) =>
            gmail.users
              .stop({ userId: 'me' })
              .catch((error: unknown) => rethrow(error, 'stopping the watch')),
          );
        } catch {
          // A revoked grant has no watch left to stop; an expired watch lapses by itself within 7 days.
        }
        await services.records.remove(credentialId);
      }
      return { watching: false, historyId: null, renewWatchAt: null };
    }
    const now = Date.now();
    const watchedAt = record?.watchedAt?.getTime();
    const stillWatched =
      record !== undefined &&
      watchedAt !== undefined &&
      (record.watchExpiresAt?.getTime() ?? 0) > now + settings.renewEveryMs / 2;
    if (stillWatched && !renew && record.cursor !== null) {
      return { watching: true, historyId: record.cursor, renewWatchAt: watchedAt + settings.renewEveryMs };
    }
    const topicName = settings.topicName;
    if (!topicName) throw unusable('GMAIL_PUBSUB_TOPIC is not set: Gmail has nowhere to push');
    return withGmail(credentialId, (gmail) => startWatch(gmail, credentialId, record, topicName, now));
  }

  async function startWatch(
    gmail: gmail_v1.Gmail,
    credentialId: number,
    record: ListenerRecord | undefined,
    topicName: string,
    now: number,
  ): Promise<GmailWatchResult> {
    let account = record?.account;
    let cursor = record?.cursor ?? null;
    if (!account || cursor === null) {
      // Recorded before the watch starts, so that the first push already finds its mailbox.
      const profile = await gmail.users.getProfile({ userId: 'me' }).catch((error: unknown) => {
        rethrow(error, 'reading the mailbox profile');
      });
      account = profile.data.emailAddress ?? '';
      cursor ??= profile.data.historyId ?? null;
      if (!account || cursor === null)
        throw unusable('Gmail answered a profile without address or historyId');
      await services.records.save(credentialId, { account, cursor, watchedAt: null, watchExpiresAt: null });
    }
    const watch = await gmail.users
      .watch({ userId: 'me', requestBody: { topicName } })
      .catch((error: unknown) => rethrow(error, 'starting the watch'));
    const expiresAt = new Date(Number(watch.data.expiration ?? now + 7 * DAY_MS));
    await services.records.save(credentialId, {
      account,
      cursor,
      watchedAt: new Date(now),
      watchExpiresAt: expiresAt,
    });
    return { watching: true, historyId: cursor, renewWatchAt: now + settings.renewEveryMs };
  }

  /** The ids added after the cursor (every page), with the labels history reports. */
  async function listAdded(
    gmail: gmail_v1.Gmail,
    cursor: string,
  ): Promise<{ added: Map<string, string[]>; historyId: string } | 'expired'> {
    const added = new Map<string, string[]>();
    let historyId: string | undefined;
    let pageToken: string | undefined;
    do {
      let page: gmail_v1.Schema$ListHistoryResponse;
      try {
        ({ data: page } = await gmail.users.history.list({
          userId: 'me',
          startHistoryId: cursor,
          historyTypes: ['messageAdded'],
          maxResults: 500,
          ...(pageToken ? { pageToken } : {}),
        }));
      } catch (error) {
        if (isNotFound(error)) return 'expired';
        rethrow(error, 'listing the mailbox history');
      }
      // The first page's historyId: changes made while paging are read again next time, never skipped.
      historyId ??= page.historyId ?? cursor;
      for (const record of page.history ?? []) {
        for (const { message } of record.messagesAdded ?? []) {
          if (message?.id) added.set(message.id, message.labelIds ?? []);
        }
      }
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    return { added, historyId: historyId ?? cursor };
  }

  /** After an expired cursor: every mail since shortly before the cursor's time, bounded. */
  async function listSince(gmail: gmail_v1.Gmail, sinceMs: number): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>();
    const after = Math.floor((sinceMs - RESYNC_MARGIN_MS) / 1000);
    let pageToken: string | undefined;
    do {
      const page = await gmail.users.messages
        .list({
          userId: 'me',
          q: `after:${after}`,
          maxResults: Math.min(500, settings.resyncMaxMessages - found.size),
          ...(pageToken ? { pageToken } : {}),
        })
        .catch((error: unknown) => rethrow(error, 'resyncing the mailbox'));
      // Labels come with each message's get.
      for (const message of page.data.messages ?? []) if (message.id) found.set(message.id, []);
      pageToken = page.data.nextPageToken ?? undefined;
    } while (pageToken && found.size < settings.resyncMaxMessages);
    return found;
  }

  async function labelIdsByName(
    gmail: gmail_v1.Gmail,
    subscribers: readonly { filter: { label?: string | undefined } }[],
  ): Promise<Map<string, string>> {
    const mayBeName = (label: string) => !SYSTEM_LABEL_IDS.has(label) && !/^Label_\d+$/.test(label);
    if (!subscribers.some(({ filter }) => filter.label && mayBeName(filter.label))) {
      return new Map();
    }
    const labels = await gmail.users.labels
      .list({ userId: 'me' })
      .catch((error: unknown) => rethrow(error, 'listing labels'));
    return new Map(
      (labels.data.labels ?? []).flatMap((label) =>
        label.id && label.name ? [[label.name.toLowerCase(), label.id] as const] : [],
      ),
    );
  }

  async function gmailProcessHistory({
    credentialId,
    cursor,
    cursorTime,
  }: {
    credentialId: number;
    cursor: string;
    cursorTime: number | null;
  }): Promise<GmailHistoryResult> {
    const startedAt = Date.now();
    return withGmail(credentialId, (gmail) =>
      readHistory(gmail, { credentialId, cursor, cursorTime }, startedAt),
    );
  }

  async function readHistory(
    gmail: gmail_v1.Gmail,
    { credentialId, cursor, cursorTime }: { credentialId: number; cursor: string; cursorTime: number | null },
    startedAt: number,
  ): Promise<GmailHistoryResult> {
    const listed = await listAdded(gmail, cursor);
    let resynced = false;
    let candidates: Map<string, string[]>;
    let newCursor: string;
    if (listed === 'expired') {
      // Gmail keeps about a week of history. Read the position first, so nothing slips in between.
      const profile = await gmail.users
        .getProfile({ userId: 'me' })
        .catch((error: unknown) => rethrow(error, 'reading the mailbox profile'));
      newCursor = profile.data.historyId ?? cursor;
      candidates = await listSince(gmail, cursorTime ?? startedAt - DAY_MS);
      resynced = true;
    } else {
      newCursor = listed.historyId;
      candidates = new Map([...listed.added].filter(([, labels]) => wasReceived(labels)));
    }

    // A push for the account's own sent mail or a label change has nothing to run: no query.
    const subscribed = candidates.size > 0 ? await services.subscribers(credentialId) : [];
    const subscribers = subscribed.flatMap((subscriber) => {
      const filter = receiveEmailConfig.safeParse(subscriber.triggerConfig);
      return filter.success ? [{ subscriber, filter: filter.data }] : [];
    });
    let runsStarted = 0;
    let runsRefused = 0;
    if (subscribers.length > 0) {
      const full = subscribers.some(({ subscriber }) => templatesReadBody(subscriber.actionConfig));
      const labelIds = await labelIdsByName(gmail, subscribers);
      for (const id of candidates.keys()) {
        let email: Email;
        try {
          const message = await gmail.users.messages.get({
            userId: 'me',
            id,
            format: full ? 'full' : 'metadata',
            ...(full ? {} : { metadataHeaders: METADATA_HEADERS }),
          });
          email = toEmail(message.data, full ? 'full' : 'metadata');
        } catch (error) {
          if (isNotFound(error)) continue; // deleted since
          rethrow(error, 'reading a new mail');
        }
        if (resynced && !wasReceived(email.labels)) continue;
        for (const { subscriber, filter } of subscribers) {
          if (!matchesFilter(filter, email, labelIds)) continue;
          const outcome = await startRun(subscriber, email);
          if (outcome === 'started') runsStarted++;
          else if (outcome === 'refused') runsRefused++;
        }
      }
    }
    await services.records.saveCursor(credentialId, newCursor);
    return {
      cursor: newCursor,
      cursorTime: startedAt,
      messagesSeen: candidates.size,
      runsStarted,
      resynced,
      ...(runsRefused > 0 ? { runsRefused } : {}),
    };
  }

  /**
   * A run that can never start (a non-retryable failure: Temporal refuses its input, its action is gone)
   * is skipped: retrying the whole read would hold every later mail of the mailbox behind it. The
   * starter records why; anything else (Temporal or Postgres down) fails the read, which is retried.
   */
  async function startRun(
    subscriber: ListenerSubscriber,
    email: Email,
  ): Promise<'started' | 'duplicate' | 'refused'> {
    try {
      // The run's id comes from the Gmail message id: a mail seen twice never runs a workflow twice.
      const run = await subscriber.startRun(email.id, toJson(email));
      return run.started ? 'started' : 'duplicate';
    } catch (error) {
      if (error instanceof ApplicationFailure && error.nonRetryable) return 'refused';
      throw error;
    }
  }

  return { gmailSyncWatch, gmailProcessHistory };
}
