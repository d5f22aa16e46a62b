/**
 * Gmail's actions run on their own task queue, limited to Gmail's per-user quota: 250 quota units a
 * second, and a send costs 100, so 2.5 sends a second. Temporal applies the limit to the whole queue.
 */
export const GMAIL_QUEUE = 'gmail-queue';
export const GMAIL_QUEUE_ACTIVITIES_PER_SECOND = 2.5;
