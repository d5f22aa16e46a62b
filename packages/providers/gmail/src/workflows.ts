// The mailbox workflow. Workflow code: deterministic, no I/O; it imports only types and contracts.
import type { GmailMailboxActivities } from '@autoflow/workflow-contracts';
import {
  ActivityFailure,
  type ActivityOptions,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineSignal,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  GMAIL_MAILBOX_SIGNALS,
  type GmailMailboxInput,
  type GmailMailboxState,
  type GmailNotification,
} from './contracts.js';

export const gmailNotificationSignal = defineSignal<[GmailNotification]>(GMAIL_MAILBOX_SIGNALS.notification);
export const gmailSubscriptionsChangedSignal = defineSignal(GMAIL_MAILBOX_SIGNALS.subscriptionsChanged);

const mailboxActivityOptions: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  // Unlimited attempts with backoff: a Gmail or Postgres outage delays mail, it never drops it.
  retry: {
    initialInterval: '1 second',
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: ['MailboxUnusable'],
  },
};

// Reading the history is a local activity: it runs in the workflow task that received the push, with
// no activity dispatch and no second workflow task. On Temporal over Postgres that took push → recorded
// run from 2.4–2.6× to 1.7× the webhook path's p50 (bench/README.md). A long resync stays safe: the SDK
// keeps the workflow task alive, and a retry only finds runs that already exist. The rare watch calls
// stay regular activities.
const { gmailProcessHistory } = proxyLocalActivities<GmailMailboxActivities>(mailboxActivityOptions);
const { gmailSyncWatch } = proxyActivities<GmailMailboxActivities>(mailboxActivityOptions);

/** Past this many events the workflow continues as new, keeping its history (and replays) small. */
const MAX_HISTORY_EVENTS = 2_000;
/** An unusable mailbox (revoked grant, missing topic) is tried again this often, or on any change. */
const UNUSABLE_RETRY_MS = 60 * 60 * 1000;

/** A regular activity's failure arrives wrapped in an ActivityFailure; a local one's may arrive bare. */
function isUnusable(error: unknown): boolean {
  const failure = error instanceof ActivityFailure ? error.cause : error;
  return failure instanceof ApplicationFailure && failure.type === 'MailboxUnusable';
}

const newer = (a: string, b: string | null): boolean => b === null || BigInt(a) > BigInt(b);

/**
 * One per connected mailbox (`gmail-mailbox:{credentialId}`), and the single writer of its history
 * cursor. Pushes only announce a historyId; the workflow reads the history from its cursor, so
 * duplicated, late and out-of-order pushes change nothing. It keeps Gmail's watch alive while any
 * workflow reads the mailbox, and stops it and ends when the last one goes.
 */
export async function gmailMailboxWorkflow(input: GmailMailboxInput): Promise<void> {
  const { credentialId } = input;
  const state: GmailMailboxState = input.state ?? {
    cursor: null,
    announced: null,
    renewWatchAt: null,
    cursorTime: null,
    unusableUntil: null,
  };
  // A fresh start checks the watch; a continued run already knows it.
  let subscriptionsChanged = input.state === undefined;

  setHandler(gmailNotificationSignal, ({ historyId }) => {
    // historyIds are compared as BigInt: they exceed 2^53, where numbers silently lose digits.
    if (/^\d{1,40}$/.test(historyId) && newer(historyId, state.announced)) state.announced = historyId;
  });
  setHandler(gmailSubscriptionsChangedSignal, () => {
    subscriptionsChanged = true;
    state.unusableUntil = null;
  });

  const historyPending = () =>
    state.cursor !== null && state.announced !== null && newer(state.announced, state.cursor);
  const renewalDue = () => state.renewWatchAt !== null && Date.now() >= state.renewWatchAt;
  const usable = () => state.unusableUntil === null || Date.now() >= state.unusableUntil;
  const historyTooLong = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;

  for (;;) {
    if (state.unusableUntil !== null && Date.now() >= state.unusableUntil) {
      // The wait is over: check the watch again, as a change would (and stop waking for a past time).
      state.unusableUntil = null;
      subscriptionsChanged = true;
    }
    if (usable() && (subscriptionsChanged || renewalDue())) {
      const renew = renewalDue();
      subscriptionsChanged = false;
      try {
        const watch = await gmailSyncWatch({ credentialId, renew });
        if (!watch.watching) {
          // Ends unless a change arrived meanwhile (then the loop looks again).
          if (!subscriptionsChanged) return;
          continue;
        }
        state.renewWatchAt = watch.renewWatchAt;
        if (state.cursor === null && watch.historyId !== null) {
          state.cursor = watch.historyId;
          state.cursorTime = Date.now();
        }
        state.unusableUntil = null;
      } catch (error) {
        if (!isUnusable(error)) throw error;
        log.warn('mailbox unusable; waiting for a change', { credentialId, error: String(error) });
        state.unusableUntil = Date.now() + UNUSABLE_RETRY_MS;
      }
    }

    if (usable() && historyPending() && state.cursor !== null) {
      const announcedBeforeRead = state.announced;
      try {
        const result = await gmailProcessHistory({
          credentialId,
          cursor: state.cursor,
          cursorTime: state.cursorTime,
        });
        if (newer(result.cursor, state.cursor)) state.cursor = result.cursor;
        state.cursorTime = result.cursorTime;
        // History is read after the push, so it covers the announced change; a higher announcement
        // than Gmail's own position cannot be served and would only spin. A push that arrived during
        // the read may announce mail the read missed: it is kept, and read next.
        const announcedDuringRead = state.announced !== announcedBeforeRead;
        if (!announcedDuringRead && state.announced !== null && newer(state.announced, state.cursor)) {
          state.announced = state.cursor;
        }
        if (result.resynced) log.warn('history cursor had expired; resynced by date', { credentialId });
        if (result.runsRefused)
          log.warn('runs that cannot start were skipped', { credentialId, runsRefused: result.runsRefused });
      } catch (error) {
        if (!isUnusable(error)) throw error;
        log.warn('mailbox unusable; waiting for a change', { credentialId, error: String(error) });
        state.unusableUntil = Date.now() + UNUSABLE_RETRY_MS;
      }
      continue;
    }

    if (historyTooLong()) {
      await continueAsNew<typeof gmailMailboxWorkflow>({ credentialId, state });
    }

    const wakeAt = Math.min(
      state.renewWatchAt ?? Number.POSITIVE_INFINITY,
      state.unusableUntil ?? Number.POSITIVE_INFINITY,
    );
    // Stale pushes do no work but still grow the history: its length wakes the loop too.
    const work = () => (usable() && (subscriptionsChanged || historyPending())) || historyTooLong();
    if (Number.isFinite(wakeAt)) await condition(work, Math.max(1, wakeAt - Date.now()));
    else await condition(work);
  }
}
