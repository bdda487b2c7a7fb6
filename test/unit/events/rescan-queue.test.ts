import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../../shared/errors.js';
import { parseJsonEvent } from '../../../shared/events/parse.js';
import { rescanQueueMessage } from '../../../shared/events/rescan.js';

describe('the rescan queue message', () => {
  it('is a feed sync package change', () => {
    const body = {
      version: 1,
      source: 'osv:npm',
      changes: [
        { ecosystem: 'npm', name: 'concat-stream', change: 'added', advisoryIds: ['NSWG-ECO-392'] },
      ],
    };
    expect(parseJsonEvent(rescanQueueMessage, 'rescan', JSON.stringify(body))).toEqual(body);
  });

  it("or the schedule's sweep of expired decisions, exactly as the rule sends it", () => {
    const body = '{"version":1,"kind":"sweep-expired-decisions"}';
    expect(parseJsonEvent(rescanQueueMessage, 'rescan', body)).toEqual({
      version: 1,
      kind: 'sweep-expired-decisions',
    });
  });

  it.each([
    ['an unknown kind', '{"version":1,"kind":"sweep-everything"}'],
    ['a change list that is empty', '{"version":1,"source":"x","changes":[]}'],
    ['not JSON', 'sweep'],
  ])('refuses %s with a typed error', (_name, body) => {
    expect(() => parseJsonEvent(rescanQueueMessage, 'rescan', body)).toThrow(InvalidEventError);
  });
});
