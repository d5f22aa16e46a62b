import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export interface QueueWaitMetrics {
  activityWaited(taskQueue: string, seconds: number): void;
}

/**
 * Reports how long each attempt of a regular activity (a queued action, a listener's call) waited in its
 * task queue: from its scheduling (the server's clock) to this worker starting it. Local activities run
 * inside their workflow task and never wait in a queue, so they are not reported.
 */
export function queueWaitInterceptor(metrics: QueueWaitMetrics): ActivityInterceptorsFactory {
  return ({ info }) => ({
    inbound: {
      async execute(input, next) {
        if (!info.isLocal)
          metrics.activityWaited(
            info.taskQueue,
            (Date.now() - info.currentAttemptScheduledTimestampMs) / 1000,
          );
        return next(input);
      },
    },
  });
}
