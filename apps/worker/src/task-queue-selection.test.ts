import { describe, expect, it } from 'vitest';
import { selectTaskQueues, UnknownTaskQueueError } from './task-queue-selection.js';

const known = ['automation-workflows', 'automation-actions', 'gmail-queue', 'slack-queue'];

describe('selectTaskQueues', () => {
  it('serves every queue by default', () => {
    expect(selectTaskQueues('all', known)).toEqual(known);
    expect(selectTaskQueues('', known)).toEqual(known);
    expect(selectTaskQueues(' , ', known)).toEqual(known);
  });

  it('serves only the named queues, once each, ignoring spaces', () => {
    expect(selectTaskQueues('slack-queue', known)).toEqual(['slack-queue']);
    expect(selectTaskQueues(' slack-queue , automation-workflows,slack-queue', known)).toEqual([
      'automation-workflows',
      'slack-queue',
    ]);
  });

  it('refuses unknown names with the list of known queues', () => {
    expect(() => selectTaskQueues('automation-workflows,slak-queue,all', known)).toThrow(
      UnknownTaskQueueError,
    );
    expect(() => selectTaskQueues('slak-queue', known)).toThrow(
      'unknown task queue(s) slak-queue in WORKER_TASK_QUEUES; known: automation-workflows, automation-actions, gmail-queue, slack-queue',
    );
  });
});
