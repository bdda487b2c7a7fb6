/** The backfill message (shared/events/backfill.ts): what is accepted, and what is refused. */
import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../../shared/errors.js';
import {
  backfillMessageBody,
  inScope,
  parseBackfillEvent,
  parseBackfillMessage,
} from '../../../shared/events/backfill.js';

describe('the backfill message', () => {
  it('reads the documented example', () => {
    expect(
      parseBackfillMessage(
        '{"version":1,"backfill":{"id":"initial","repositories":["team-a/api"],"prefixes":["team-b/"]}}',
      ),
    ).toEqual({ id: 'initial', repositories: ['team-a/api'], prefixes: ['team-b/'] });
  });

  it('makes an id when none is given, and keeps names sorted and once', () => {
    expect(
      parseBackfillEvent(
        { version: 1, backfill: { repositories: ['web', 'api/x', 'web'] } },
        () => 'made-id',
      ),
    ).toEqual({ id: 'made-id', repositories: ['api/x', 'web'] });
    expect(parseBackfillEvent({ version: 1, backfill: {} }).id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('round-trips through the body the CLI sends', () => {
    const body = backfillMessageBody({ id: 'again', prefixes: ['team-'] });
    expect(parseBackfillMessage(body)).toEqual({ id: 'again', prefixes: ['team-'] });
  });

  const refused: [string, unknown, string][] = [
    ['no version', { backfill: {} }, 'version'],
    ['version 2', { version: 2, backfill: {} }, 'version'],
    ['no backfill', { version: 1 }, 'backfill'],
    ['an unknown field', { version: 1, backfill: { repos: ['a'] } }, 'repos'],
    ['an unknown top-level field', { version: 1, backfill: {}, extra: true }, 'extra'],
    [
      'an upper-case repository',
      { version: 1, backfill: { repositories: ['Team/API'] } },
      'repositories.0',
    ],
    [
      'a repository with a double slash',
      { version: 1, backfill: { repositories: ['a//b'] } },
      'repositories.0',
    ],
    ['an empty list', { version: 1, backfill: { prefixes: [] } }, 'prefixes'],
    [
      'a prefix starting with a slash',
      { version: 1, backfill: { prefixes: ['/a'] } },
      'prefixes.0',
    ],
    ['an id with a hash', { version: 1, backfill: { id: 'a#b' } }, 'backfill.id'],
    ['an id of 65 characters', { version: 1, backfill: { id: 'x'.repeat(65) } }, 'backfill.id'],
    [
      '101 repositories',
      { version: 1, backfill: { repositories: Array.from({ length: 101 }, (_, i) => `r${i}`) } },
      'repositories',
    ],
  ];

  for (const [what, value, path] of refused)
    it(`refuses ${what} with InvalidEventError naming ${path}`, () => {
      const error = (() => {
        try {
          parseBackfillEvent(value);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(InvalidEventError);
      expect((error as InvalidEventError).source).toBe('backfill');
      expect((error as InvalidEventError).problems.join('\n')).toContain(path);
    });

  it('refuses a body that is not JSON', () => {
    expect(() => parseBackfillMessage('{"version":1,')).toThrow(InvalidEventError);
    expect(() => parseBackfillMessage('{"version":1,')).toThrow(/body is not JSON/);
  });
});

describe('the scope', () => {
  it('is everything without names or prefixes', () => {
    expect(inScope({}, 'anything/at/all')).toBe(true);
  });

  it('is the names listed and those under a prefix', () => {
    const scope = { repositories: ['tools/ci'], prefixes: ['team-a/'] };
    expect(inScope(scope, 'tools/ci')).toBe(true);
    expect(inScope(scope, 'tools/ci-old')).toBe(false);
    expect(inScope(scope, 'team-a/api')).toBe(true);
    expect(inScope(scope, 'team-ab/api')).toBe(false);
  });
});
