import { LOCAL_BUDGET_EXHAUSTED } from '@autoflow/workflow-contracts';
import { ActivityFailure, ApplicationFailure, CancelledFailure, TimeoutFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { afterLocalAttempt } from './automation.js';

const wrapped = (cause: Error) =>
  new ActivityFailure('activity failed', 'runRecordedAction', '1', 'NON_RETRYABLE_FAILURE', undefined, cause);

describe('afterLocalAttempt', () => {
  it('moves a timed-out attempt to the regular activity at once, counting it', () => {
    const timeout = new TimeoutFailure('timed out', undefined, 'START_TO_CLOSE');
    expect(afterLocalAttempt(timeout)).toEqual({ attemptsUsed: 1, backoff: false });
    expect(afterLocalAttempt(wrapped(timeout))).toEqual({ attemptsUsed: 1, backoff: false });
  });

  it('moves a refused attempt (tenant over its local budget) without counting it', () => {
    const refused = ApplicationFailure.create({ type: LOCAL_BUDGET_EXHAUSTED, nonRetryable: true });
    expect(afterLocalAttempt(refused)).toEqual({ attemptsUsed: 0, backoff: false });
    expect(afterLocalAttempt(wrapped(refused))).toEqual({ attemptsUsed: 0, backoff: false });
  });

  it('backs off after a retryable failure and ends the run on a permanent one or a cancellation', () => {
    const retryable = ApplicationFailure.create({ type: 'RetryableActionError', message: '503' });
    expect(afterLocalAttempt(wrapped(retryable))).toEqual({ attemptsUsed: 1, backoff: true });
    const permanent = ApplicationFailure.nonRetryable('400', 'PermanentActionError');
    expect(afterLocalAttempt(wrapped(permanent))).toBeUndefined();
    expect(afterLocalAttempt(wrapped(new CancelledFailure('cancelled')))).toBeUndefined();
    expect(afterLocalAttempt(new Error('workflow bug'))).toBeUndefined();
  });
});
