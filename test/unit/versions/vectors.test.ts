/**
 * Every version-comparison vector under ../shared/data/versions/, in both directions. Rows a
 * scheme refuses as invalid must fail with InvalidVersionError, and each such set is counted
 * or listed, so that a change in what is refused shows up here.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { apk, apkFuzzyMatch } from '../../../shared/versions/apk.js';
import { dpkg } from '../../../shared/versions/dpkg.js';
import { go } from '../../../shared/versions/go.js';
import { InvalidVersionError, type VersionScheme } from '../../../shared/versions/index.js';
import { maven } from '../../../shared/versions/maven.js';
import { nuget } from '../../../shared/versions/nuget.js';
import { packagist } from '../../../shared/versions/packagist.js';
import { pypi } from '../../../shared/versions/pypi.js';
import { rpm, rpmvercmp } from '../../../shared/versions/rpm.js';
import { rubygems } from '../../../shared/versions/rubygems.js';
import { crates, npm, npmSatisfies } from '../../../shared/versions/semver.js';
import { dataDir } from '../../support/fixtures.js';
import { OP, scalibrVectors, tsvVectors, type Vector } from '../../support/vectors.js';

interface Outcome {
  readonly wrong: string[];
  readonly refused: string[];
}

/** Checks a < b and b > a (or equality both ways); refusals are collected, not failed. */
function check(compare: (a: string, b: string) => number, vectors: readonly Vector[]): Outcome {
  const wrong: string[] = [];
  const refused: string[] = [];
  for (const v of vectors) {
    const want = OP[v.op];
    if (want === undefined) throw new Error(`${v.at}: unknown operator ${v.op}`);
    try {
      const forward = compare(v.a, v.b);
      const backward = compare(v.b, v.a);
      if (forward !== want || backward !== -want)
        wrong.push(`${v.at}: ${v.a} ${v.op} ${v.b}, got ${forward} / ${backward}`);
    } catch (error) {
      if (!(error instanceof InvalidVersionError)) throw error;
      refused.push(`${v.a} ${v.op} ${v.b}`);
    }
  }
  return { wrong, refused };
}

const scheme = (s: VersionScheme) => (a: string, b: string) => s.compare(a, b);

describe('dpkg', () => {
  it('agrees with dpkg on the 14,587 normalized vectors; refuses only rows dpkg calls bad syntax', () => {
    const rows = tsvVectors('dpkg/normalized.tsv');
    const valid = rows.filter((r) => r.extra.agree === 'yes');
    expect(valid.length).toBe(14_579);
    expect(check(scheme(dpkg), valid)).toEqual({ wrong: [], refused: [] });
    const invalid = check(
      scheme(dpkg),
      rows.filter((r) => r.extra.agree === 'invalid'),
    );
    // '-' has an empty upstream version; the other invalid rows only draw dpkg warnings.
    expect(invalid.refused).toEqual(['- < .', 'p < -', 'a < -', 'z < -']);
    expect(invalid.wrong).toEqual([]);
  });

  it('sorts the 21,635 distinct versions of the Debian 12 archive as apt does', () => {
    const lines = readFileSync(
      path.join(dataDir(), 'versions/dpkg/debian12-archive/unique-versions-sorted.txt'),
      'utf8',
    )
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    const pairs: Vector[] = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const equal = line.startsWith('= ');
      const prev = (lines[i - 1] as string).replace(/^= /, '');
      pairs.push({
        a: prev,
        op: equal ? '=' : '<',
        b: line.replace(/^= /, ''),
        at: `unique-versions-sorted.txt:${i + 2}`,
        extra: {},
      });
    }
    expect(pairs.length).toBeGreaterThan(21_000);
    expect(check(scheme(dpkg), pairs)).toEqual({ wrong: [], refused: [] });
  });

  it('agrees with apt on 50,000 random archive pairs and on bookworm vs its updates', () => {
    expect(
      check(scheme(dpkg), tsvVectors('dpkg/debian12-archive/random-pairs-apt_pkg.tsv')),
    ).toEqual({ wrong: [], refused: [] });
    expect(
      check(scheme(dpkg), tsvVectors('dpkg/debian12-archive/main-vs-updates-pairs.tsv')),
    ).toEqual({ wrong: [], refused: [] });
  });
});

describe('rpm', () => {
  it('agrees with rpmvercmp and osv-scalibr on the 369 normalized vectors', () => {
    const rows = tsvVectors('rpm/normalized.tsv');
    const raw = rows.filter((r) => r.extra.source?.includes('rpmvercmp'));
    expect(check(rpmvercmp, raw)).toEqual({ wrong: [], refused: [] });
    const evr = check(
      scheme(rpm),
      rows.filter((r) => !r.extra.source?.includes('rpmvercmp')),
    );
    expect(evr.wrong).toEqual([]);
    // An EVR whose version part is empty is refused.
    expect(evr.refused).toEqual(['+2-: > +1-:']);
  });
});

describe('apk', () => {
  const rows = tsvVectors('apk/normalized.tsv');

  it('agrees with apk-tools and osv-scalibr on every ordering of two valid versions', () => {
    const ordered = rows.filter((r) => OP[r.op] !== undefined);
    const outcome = check(scheme(apk), ordered);
    expect(outcome.wrong).toEqual([]);
    // apk-tools orders some strings its own validator rejects; Bosun refuses to.
    for (const row of outcome.refused) {
      const [a, , b] = row.split(' ') as [string, string, string];
      expect(apk.valid(a) && apk.valid(b), row).toBe(false);
    }
    expect(outcome.refused.length).toBe(97);
  });

  it('accepts and rejects exactly the versions apk-tools does', () => {
    for (const r of rows.filter((r) => r.op === 'valid' || r.op === 'invalid')) {
      expect(apk.valid(r.a), `${r.at}: ${JSON.stringify(r.a)}`).toBe(r.op === 'valid');
    }
  });

  it('implements fuzzy matching (~) as apk-tools does', () => {
    for (const r of rows.filter((r) => r.op.includes('~'))) {
      const match = apkFuzzyMatch(r.a, r.b);
      const holds =
        r.op === '~'
          ? match
          : r.op === '!~'
            ? !match
            : r.op === '<~'
              ? match || apk.compare(r.a, r.b) < 0
              : match || apk.compare(r.a, r.b) > 0;
      expect(holds, `${r.at}: ${r.a} ${r.op} ${r.b}`).toBe(true);
    }
  });
});

describe('SemVer (npm, crates.io)', () => {
  it("orders osv-scalibr's SemVer vectors, refusing versions that are not SemVer 2.0", () => {
    const outcome = check(scheme(crates), scalibrVectors('semver-versions.txt'));
    expect(outcome.wrong).toEqual([]);
    expect(outcome.refused).toEqual([
      '999999999999999999999999999991 < 999999999999999999999999999999',
      '999999999999999999999999999991.999999999999999999999999999991.999999999999999999999999999991 < 999999999999999999999999999999.999999999999999999999999999991.999999999999999999999999999991',
      '1.1.3.4.5 = 1.1.3.4.5',
    ]);
  });

  const require = createRequire(import.meta.url);
  const fixture = <T>(name: string): T[] =>
    require(path.join(dataDir(), 'versions/npm/npm__node-semver/test/fixtures', name)) as T[];
  const isLoose = (opts: unknown) =>
    opts === true ||
    (typeof opts === 'object' && opts !== null && (opts as { loose?: unknown }).loose === true);

  it("passes node-semver's comparison and equality fixtures for strict versions", () => {
    const comparisons = fixture<[string, string, unknown?]>('comparisons.js').filter(
      ([, , o]) => !isLoose(o),
    );
    expect(comparisons.length).toBeGreaterThan(15);
    for (const [a, b] of comparisons) {
      expect(npm.compare(a, b), `${a} > ${b}`).toBe(1);
      expect(npm.compare(b, a), `${b} < ${a}`).toBe(-1);
    }
    for (const [a, b, o] of fixture<[string, string, unknown?]>('equality.js')) {
      if (npm.valid(a) && npm.valid(b)) {
        expect(npm.compare(a, b), `${a} = ${b}`).toBe(0);
      } else {
        // Only loose parsing accepts these; npm's registry publishes strict versions.
        expect(isLoose(o), `${a} = ${b}`).toBe(true);
      }
    }
  });

  it("passes node-semver's range-include and range-exclude fixtures", () => {
    // node-semver's fixtures pass `true` for { loose: true }.
    const opts = (o: unknown) =>
      o === true ? { loose: true } : typeof o === 'object' && o !== null ? o : {};
    const include = fixture<[string, string, unknown?]>('range-include.js');
    expect(include.length).toBeGreaterThan(100);
    for (const [range, version, options] of include) {
      expect(npmSatisfies(version, range, opts(options)), `${version} in ${range}`).toBe(true);
    }
    for (const [range, version, options] of fixture<[string, string, unknown?]>(
      'range-exclude.js',
    )) {
      let inRange: boolean;
      try {
        inRange = npmSatisfies(version, range, opts(options));
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidVersionError);
        continue;
      }
      expect(inRange, `${version} not in ${range}`).toBe(false);
    }
  });
});

describe('Go', () => {
  const source = readFileSync(
    path.join(dataDir(), 'versions/go/golang__mod/semver/semver_test.go'),
    'utf8',
  );
  const table = [
    ...(source.split('var tests = ')[1]?.split('\n}\n')[0] ?? '').matchAll(
      /\{"([^"]*)", "([^"]*)"\}/g,
    ),
  ].map((m) => [m[1], m[2]] as [string, string]);

  it('accepts, canonicalizes and rejects as golang.org/x/mod/semver does', () => {
    expect(table.length).toBeGreaterThan(30);
    for (const [input, canonical] of table) {
      expect(go.valid(input), input).toBe(canonical !== '');
    }
  });

  it('orders the table as listed (ascending, equal where canonical forms are equal)', () => {
    const valid = table.filter(([, c]) => c !== '');
    for (let i = 0; i < valid.length; i++) {
      for (let j = 0; j < valid.length; j++) {
        const [a, ca] = valid[i] as [string, string];
        const [b, cb] = valid[j] as [string, string];
        const want = ca === cb ? 0 : i < j ? -1 : 1;
        expect(go.compare(a, b), `${a} vs ${b}`).toBe(want);
      }
    }
  });

  it('orders pseudo-versions and +incompatible as Go does, with or without the v', () => {
    expect(
      go.compare('v0.0.0-20191109021931-daa7c04131f5', 'v0.0.0-20200101000000-aaaaaaaaaaaa'),
    ).toBe(-1);
    expect(go.compare('v1.2.4-0.20191109021931-daa7c04131f5', '1.2.4')).toBe(-1);
    expect(go.compare('v1.2.4-0.20191109021931-daa7c04131f5', '1.2.3')).toBe(1);
    expect(go.compare('2.0.0+incompatible', 'v2.0.0')).toBe(0);
    expect(() => go.compare('1.2.3.4', '1')).toThrow('invalid Go version "1.2.3.4"');
  });
});

describe('PEP 440', () => {
  it('agrees with packaging on 12,332 vectors and refuses the 80 legacy versions packaging rejects', () => {
    const rows = tsvVectors('pypi/normalized-osv-scalibr.tsv');
    expect(
      check(
        scheme(pypi),
        rows.filter((r) => r.extra.agree === 'yes'),
      ),
    ).toEqual({ wrong: [], refused: [] });
    const legacy = check(
      scheme(pypi),
      rows.filter((r) => r.extra.agree !== 'yes'),
    );
    expect(legacy.wrong).toEqual([]);
    expect(legacy.refused.length).toBe(80);
  });
});

describe('Maven', () => {
  it("agrees with Maven 3.9 ComparableVersion on osv-scalibr's 14,854 vectors but one", () => {
    const outcome = check(scheme(maven), tsvVectors('maven/normalized-osv-scalibr.tsv'));
    // Maven 3.8.7 orders this pair the other way too; see docs/versions.md.
    expect(outcome.wrong).toEqual([
      'maven/normalized-osv-scalibr.tsv:85: 1-1 = 1-ga-1, got 1 / -1',
    ]);
    expect(outcome.refused).toEqual([]);
  });
});

describe('RubyGems', () => {
  it("orders osv-scalibr's RubyGems vectors, with integers of any size", () => {
    const outcome = check(scheme(rubygems), [
      ...scalibrVectors('rubygems-versions.txt'),
      ...scalibrVectors('rubygems-versions-generated.txt'),
    ]);
    expect(outcome.wrong).toEqual([]);
    // Not Gem::Version syntax: letters glued to the first number.
    expect(outcome.refused).toEqual(['1 > 1beta', '1 > 1gamma']);
  });
});

describe('NuGet', () => {
  it("orders osv-scalibr's NuGet vectors", () => {
    expect(check(scheme(nuget), scalibrVectors('nuget-versions.txt'))).toEqual({
      wrong: [],
      refused: [],
    });
  });
});

describe('Packagist', () => {
  it("orders osv-scalibr's Packagist vectors but one", () => {
    const outcome = check(scheme(packagist), [
      ...scalibrVectors('packagist-versions.txt'),
      ...scalibrVectors('packagist-versions-generated.txt'),
    ]);
    // `#` as a version component: see docs/versions.md.
    expect(outcome.wrong.map((w) => w.replace(/^[^ ]+ /, ''))).toEqual([
      '1.2.3.# = 1.2.3.1, got -1 / 1',
    ]);
    expect(outcome.refused).toEqual([]);
  });
});
