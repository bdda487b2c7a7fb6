/**
 * An npm package from the npm registry, as released, inventoried and matched against the
 * Node.js security WG's advisories, with node-semver as the independent judge.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import semverLib from 'semver';
import { afterAll, describe, expect, it } from 'vitest';
import { bosun } from '../support/cli.js';
import { dataDir } from '../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-npm-scan-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('scanning an npm dependency', () => {
  it('finds exactly the advisories whose vulnerable range holds lodash 4.17.4', () => {
    // The released package, from the npm registry.
    execFileSync('npm', ['pack', 'lodash@4.17.4', '--silent', '--pack-destination', work], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const root = path.join(work, 'rootfs');
    const target = path.join(root, 'srv/app/node_modules/lodash');
    mkdirSync(target, { recursive: true });
    execFileSync('tar', [
      '-xzf',
      path.join(work, 'lodash-4.17.4.tgz'),
      '-C',
      target,
      '--strip-components=1',
      'package/package.json',
    ]);

    const advisories = path.join(dataDir(), 'advisories/nodejs-security-wg/vuln/npm');
    const expected = readdirSync(advisories)
      .filter((f) => f !== 'index.json')
      .map(
        (f) =>
          JSON.parse(readFileSync(path.join(advisories, f), 'utf8')) as {
            id: number;
            module_name: string;
            vulnerable_versions: string;
          },
      )
      .filter(
        (a) => a.module_name === 'lodash' && semverLib.satisfies('4.17.4', a.vulnerable_versions),
      )
      .map((a) => `NSWG-ECO-${a.id}`)
      .sort();
    expect(expected.length).toBeGreaterThan(0);

    const out = bosun('scan', `dir:${root}`, '--advisories', advisories, '--format', 'json');
    expect(out.status, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout) as {
      images: {
        findings: { ids: string[]; package: string; purl: string; installedVersion: string }[];
      }[];
    };
    const findings = report.images[0]?.findings ?? [];
    expect(
      findings.every(
        (f) =>
          f.package === 'lodash' &&
          f.installedVersion === '4.17.4' &&
          f.purl === 'pkg:npm/lodash@4.17.4',
      ),
    ).toBe(true);
    expect(
      findings.flatMap((f) => f.ids.filter((id) => id.startsWith('NSWG-ECO-'))).sort(),
    ).toEqual(expected);
  }, 120_000);
});
