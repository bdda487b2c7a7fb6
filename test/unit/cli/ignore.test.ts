import { describe, expect, it } from 'vitest';
import { ignoredBy, parseIgnore } from '../../../cli/ignore.js';
import { UsageError } from '../../../cli/options.js';

const TODAY = '2026-12-07';
const openssl = 'pkg:deb/debian/openssl@3.0.13-1~deb12u1?arch=amd64&distro=debian-12';

describe('parseIgnore', () => {
  it('reads ids, purls, expiry and reasons, skipping comments and blank lines', () => {
    const file = parseIgnore(
      [
        '# decided by the platform team',
        '',
        'CVE-2024-5535   # not reachable from our code',
        'CVE-2023-0464 pkg:deb/debian/openssl exp:2027-01-31',
        'GHSA-jfh8-c2jp-5v3q pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
      ].join('\n'),
      '.bosunignore',
      TODAY,
    );
    expect(file.expired).toEqual([]);
    expect(file.entries).toEqual([
      { id: 'CVE-2024-5535', reason: 'not reachable from our code', where: '.bosunignore:3' },
      {
        id: 'CVE-2023-0464',
        purl: 'pkg:deb/debian/openssl',
        expires: '2027-01-31',
        where: '.bosunignore:4',
      },
      {
        id: 'GHSA-jfh8-c2jp-5v3q',
        purl: 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
        where: '.bosunignore:5',
      },
    ]);
  });

  it('sets entries past their last day apart, and keeps one that ends today', () => {
    const file = parseIgnore(
      'CVE-2024-5535 exp:2026-12-06\nCVE-2024-0727 exp:2026-12-07\n',
      'f',
      TODAY,
    );
    expect(file.expired.map((e) => e.id)).toEqual(['CVE-2024-5535']);
    expect(file.entries.map((e) => e.id)).toEqual(['CVE-2024-0727']);
  });

  it.each([
    ['a word that is no id', 'openssl', /f:1: "openssl" is not a vulnerability id/],
    ['a bad date', 'CVE-2024-5535 exp:31/01/2027', /f:1: "exp:31\/01\/2027" is not exp:YYYY-MM-DD/],
    ['a stray word', 'CVE-2024-5535 openssl', /f:1: unexpected "openssl"/],
  ])('refuses %s, naming the line', (_name, line, message) => {
    expect(() => parseIgnore(line, 'f', TODAY)).toThrow(UsageError);
    expect(() => parseIgnore(line, 'f', TODAY)).toThrow(message);
  });
});

describe('ignoredBy', () => {
  const file = parseIgnore(
    'CVE-2024-5535 pkg:deb/debian/openssl\nCVE-2023-0464\nCVE-2024-0727 exp:2020-01-01\n',
    'f',
    TODAY,
  );

  it('ignores by any id of the finding, in the named package only', () => {
    expect(ignoredBy(file, ['CVE-2024-5535', 'DSA-5728-1'], openssl)?.where).toBe('f:1');
    expect(ignoredBy(file, ['CVE-2024-5535'], 'pkg:deb/debian/libssl3@3.0.13-1~deb12u1')).toBe(
      undefined,
    );
    expect(ignoredBy(file, ['CVE-2024-5535'], undefined)).toBe(undefined);
  });

  it('ignores an id without a purl in every package, and never an expired entry', () => {
    expect(ignoredBy(file, ['CVE-2023-0464'], undefined)?.where).toBe('f:2');
    expect(ignoredBy(file, ['CVE-2024-0727'], openssl)).toBe(undefined);
  });
});
