import { describe, expect, it } from 'vitest';
import { isAffected, nearestFix } from '../../../shared/advisories/affected.js';
import type { OsvAffected } from '../../../shared/advisories/osv.js';
import { dpkg } from '../../../shared/versions/dpkg.js';
import { InvalidVersionError } from '../../../shared/versions/index.js';
import { npm } from '../../../shared/versions/semver.js';

const entry = (
  events: OsvAffected['ranges'] extends (infer R)[] | undefined
    ? R extends { events: infer E }
      ? E
      : never
    : never,
  extra: Partial<OsvAffected> = {},
): OsvAffected => ({
  package: { ecosystem: 'npm', name: 'pkg' },
  ranges: [{ type: 'SEMVER', events }],
  ...extra,
});

describe('isAffected (OSV evaluation)', () => {
  it('reads introduced/fixed pairs in any order', () => {
    const a = entry([
      { fixed: '2.0.0' },
      { introduced: '1.5.0' },
      { fixed: '1.2.0' },
      { introduced: '0' },
    ]);
    expect(['0.1.0', '1.1.9', '1.5.0', '1.9.9'].map((v) => isAffected(v, a, npm))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['1.2.0', '1.4.9', '2.0.0', '3.0.0'].map((v) => isAffected(v, a, npm))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('treats last_affected as inclusive and limit as an upper bound', () => {
    const a = entry([{ introduced: '1.0.0' }, { last_affected: '1.4.0' }]);
    expect([isAffected('1.4.0', a, npm), isAffected('1.4.1', a, npm)]).toEqual([true, false]);
    const b = entry([{ introduced: '0' }, { limit: '3.0.0' }]);
    expect([isAffected('2.9.9', b, npm), isAffected('3.0.0', b, npm)]).toEqual([true, false]);
  });

  it('counts a listed version as affected, and ignores GIT ranges otherwise', () => {
    const a: OsvAffected = {
      package: { ecosystem: 'npm', name: 'pkg' },
      ranges: [{ type: 'GIT', repo: 'https://example.org/r', events: [{ introduced: '0' }] }],
      versions: ['1.0.0'],
    };
    expect([isAffected('1.0.0', a, npm), isAffected('1.0.1', a, npm)]).toEqual([true, false]);
  });

  it('raises InvalidVersionError for an installed version the scheme cannot order', () => {
    expect(() => isAffected('not-a-version', entry([{ introduced: '1.0.0' }]), npm)).toThrow(
      InvalidVersionError,
    );
  });

  it('gives the nearest fix above the installed version, with distro versions too', () => {
    const a: OsvAffected = {
      package: { ecosystem: 'Debian:12', name: 'openssl' },
      ranges: [
        {
          type: 'ECOSYSTEM',
          events: [
            { introduced: '0' },
            { fixed: '3.0.11-1~deb12u2' },
            { introduced: '3.0.12-1' },
            { fixed: '3.0.15-1~deb12u1' },
          ],
        },
      ],
    };
    expect(isAffected('3.0.11-1~deb12u1', a, dpkg)).toBe(true);
    expect(nearestFix('3.0.11-1~deb12u1', a, dpkg)).toBe('3.0.11-1~deb12u2');
    expect(isAffected('3.0.11-1~deb12u2', a, dpkg)).toBe(false);
    expect(nearestFix('3.0.13-1', a, dpkg)).toBe('3.0.15-1~deb12u1');
  });
});
