import { describe, expect, it } from 'vitest';
import {
  ADVISORY_ECOSYSTEMS,
  baseEcosystem,
  ECOSYSTEMS,
  schemeFor,
} from '../../../shared/ecosystems.js';
import { InvalidVersionError, SCHEMES } from '../../../shared/versions/index.js';

describe('version scheme registry', () => {
  it('has a scheme for every ecosystem, found with or without a release suffix', () => {
    for (const e of ECOSYSTEMS)
      expect(SCHEMES[ADVISORY_ECOSYSTEMS[e].scheme].compare).toBeTypeOf('function');
    expect(schemeFor('Debian:12')?.name).toBe('dpkg');
    expect(schemeFor('Ubuntu:22.04:LTS')?.name).toBe('dpkg');
    expect(schemeFor('Alpine:v3.19')?.name).toBe('apk');
    expect(schemeFor('AlmaLinux:9')?.name).toBe('rpm');
    expect(schemeFor('crates.io')?.name).toBe('crates.io');
    expect(schemeFor('Hackage')).toBeUndefined();
    expect(baseEcosystem('Ubuntu:22.04:LTS')).toBe('Ubuntu');
  });

  it('raises InvalidVersionError naming the scheme and the value', () => {
    const cases: [string, string][] = [
      ['Debian', '1:'],
      ['Alpine', '1.0_foo'],
      ['AlmaLinux', ''],
      ['npm', '1.2'],
      ['Go', 'v1.2.3.4'],
      ['PyPI', 'not a version'],
      ['Maven', ''],
      ['RubyGems', '1.0 beta'],
      ['NuGet', '1.0.0.0.0'],
      ['Packagist', ''],
    ];
    for (const [ecosystem, version] of cases) {
      const scheme = schemeFor(ecosystem);
      let error: unknown;
      try {
        scheme?.compare(version, '1.0.0');
      } catch (e) {
        error = e;
      }
      expect(error, `${ecosystem} ${JSON.stringify(version)}`).toBeInstanceOf(InvalidVersionError);
      expect((error as Error).message).toBe(
        `invalid ${scheme?.name} version ${JSON.stringify(version)}: ${(error as Error).message.split(': ').slice(1).join(': ')}`,
      );
      expect(scheme?.valid(version)).toBe(false);
    }
  });
});

describe('docs/versions.md', () => {
  it('names every ecosystem of the registry', async () => {
    const { readFileSync } = await import('node:fs');
    const { PROJECT_ROOT } = await import('../../support/fixtures.js');
    const doc = readFileSync(`${PROJECT_ROOT}/docs/versions.md`, 'utf8');
    const table = doc.split('## Tests')[0] ?? '';
    for (const e of ECOSYSTEMS) expect(table, e).toContain(e);
  });
});
