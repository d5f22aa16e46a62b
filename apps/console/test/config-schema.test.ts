import { describe, expect, it } from 'vitest';
import { sampleValue, triggerFields } from '../src/config-schema.js';

const mailSchema = {
  type: 'object',
  properties: {
    subject: { type: 'string' },
    from: { type: 'string' },
    labels: { type: 'array', items: { type: 'string' } },
    headers: { type: 'object', properties: { messageId: { type: 'string' } } },
  },
};
const mailSample = {
  subject: 'Quarterly numbers',
  from: 'The Boss <boss@company.com>',
  labels: ['INBOX', 'UNREAD'],
  headers: { messageId: '<a@b>' },
};

describe('the template fields a trigger offers', () => {
  it('lists the output schema two levels deep', () => {
    expect(triggerFields(mailSchema)).toEqual([
      'trigger.subject',
      'trigger.from',
      'trigger.labels',
      'trigger.headers',
      'trigger.headers.messageId',
    ]);
  });

  it("shows each field's value in the trigger's sample, shortened", () => {
    expect(sampleValue(mailSample, 'trigger.subject')).toBe('Quarterly numbers');
    expect(sampleValue(mailSample, 'trigger.headers.messageId')).toBe('<a@b>');
    expect(sampleValue(mailSample, 'trigger.labels')).toBe('["INBOX","UNREAD"]');
    expect(sampleValue(mailSample, 'trigger.from', 10)).toBe('The Boss …');
    expect(sampleValue(mailSample, 'trigger.missing')).toBeUndefined();
    expect(sampleValue(undefined, 'trigger.subject')).toBeUndefined();
  });
});
