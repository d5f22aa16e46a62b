import { describe, expect, it } from 'vitest';
import {
  credentialIdOfMailbox,
  gmailMailboxWorkflowId,
  listenerWorkflowId,
  runWorkflowId,
  scheduleId,
  workflowIdOfRun,
  workflowIdOfSchedule,
} from '../src/index.js';

describe('Temporal workflow ids', () => {
  it('reads back the id each builder put in', () => {
    expect(workflowIdOfRun(runWorkflowId(42, 'webhook', 'evt:1'))).toBe(42);
    expect(workflowIdOfSchedule(scheduleId(7))).toBe(7);
    expect(credentialIdOfMailbox(gmailMailboxWorkflowId(9))).toBe(9);
    expect(credentialIdOfMailbox(listenerWorkflowId('slack', 11))).toBe(11);
  });

  it('answers undefined for other ids and for ids beyond int4', () => {
    expect(workflowIdOfRun(scheduleId(7))).toBeUndefined();
    expect(workflowIdOfSchedule(runWorkflowId(42, 'manual', 'k'))).toBeUndefined();
    expect(credentialIdOfMailbox('gmail-mailbox:abc')).toBeUndefined();
    expect(credentialIdOfMailbox('run-listener:x:1')).toBeUndefined();
    expect(workflowIdOfRun('run:3000000000:webhook:x')).toBeUndefined();
    expect(workflowIdOfRun('run:0:webhook:x')).toBeUndefined();
  });
});
