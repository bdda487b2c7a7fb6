import { describe, expect, it } from 'vitest';
import { isBefore, latestInstant } from '../../../shared/instants.js';

describe('event times', () => {
  it('are compared as instants, whatever their precision and offset', () => {
    // An ECR time (UTC, seconds) and a webhook's (fraction, +01:00) half an hour earlier: as
    // strings the webhook's sorts last.
    const ecr = '2026-11-29T09:30:00Z';
    const webhook = '2026-11-29T10:00:00.500+01:00';
    expect([ecr, webhook].sort().at(-1)).toBe(webhook);
    expect(latestInstant(webhook, ecr)).toBe(ecr);
    expect(latestInstant(undefined, webhook, undefined)).toBe(webhook);
    expect(latestInstant()).toBeUndefined();
    expect(isBefore(webhook, ecr)).toBe(true);
    expect(isBefore(ecr, ecr)).toBe(false);
  });
});
