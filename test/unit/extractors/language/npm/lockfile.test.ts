import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_LOCKFILE } from '../../../../../scripts/demo-data.js';
import { npmLockfile } from '../../../../../shared/extractors/language/npm/lockfile.js';
import { PROJECT_ROOT } from '../../../../support/fixtures.js';

describe('language/npm/lockfile', () => {
  it("reads every installed package of a real lockfile (this project's own, version 3)", async () => {
    const text = readFileSync(path.join(PROJECT_ROOT, 'package-lock.json'));
    const lock = JSON.parse(text.toString('utf8')) as {
      lockfileVersion: number;
      packages: Record<string, { version?: string; link?: boolean }>;
    };
    expect(lock.lockfileVersion).toBe(3);
    const { packages, issues } = await npmLockfile.extract('srv/app/package-lock.json', text);
    expect(issues).toEqual([]);
    const installed = Object.entries(lock.packages).filter(
      ([k, v]) => k.includes('node_modules/') && v.link !== true,
    );
    expect(packages).toHaveLength(installed.length);
    // The versions pinned in package.json are what the lockfile installs (all of them are
    // development dependencies: the published package bundles what it runs).
    const pinned = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    for (const [name, version] of Object.entries(pinned.devDependencies)) {
      expect(
        packages.find((p) => p.location === `srv/app/package-lock.json#node_modules/${name}`)
          ?.version,
        name,
      ).toBe(version);
    }
    expect(packages.find((p) => p.name === '@aws-sdk/client-ecr')?.type).toBe('npm');
  });

  it('reads only application lockfiles, and says which lockfile versions it does not read', async () => {
    expect(npmLockfile.required('srv/app/package-lock.json', 1000)).toBe(true);
    expect(npmLockfile.required('srv/app/node_modules/x/package-lock.json', 1000)).toBe(false);
    const v4 = await npmLockfile.extract(
      'package-lock.json',
      Buffer.from('{"lockfileVersion": 4, "packages": {}}'),
    );
    expect(v4.issues[0]?.message).toBe(
      'package-lock.json: lockfileVersion 4 is not read (1, 2 and 3 are)',
    );
  });

  it('reads a version 1 tree exactly as npm laid it out: the v1 section of a real v2 lockfile', async () => {
    // A version 2 lockfile carries its tree twice: `packages` (v2) and `dependencies` (v1).
    const file = DEMO_LOCKFILE;
    const lock = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(lock.lockfileVersion).toBe(2);
    const v2 = await npmLockfile.extract('app/package-lock.json', readFileSync(file));
    const v1Only: Record<string, unknown> = { ...lock, lockfileVersion: 1 };
    delete v1Only.packages;
    const v1 = await npmLockfile.extract(
      'app/package-lock.json',
      Buffer.from(JSON.stringify(v1Only)),
    );
    expect(v1.issues).toEqual([]);
    const rows = (r: typeof v1) =>
      r.packages.map((p) => `${p.location} ${p.name}@${p.version}`).sort();
    expect(rows(v1)).toEqual(rows(v2));
    expect(v1.packages.length).toBeGreaterThan(100);
  });

  it('reads aliases under their real name and reports git and file dependencies', async () => {
    const lock = {
      lockfileVersion: 1,
      dependencies: {
        'old-lodash': { version: 'npm:lodash@4.17.4' },
        scoped: {
          version: 'npm:@babel/core@7.0.0',
          dependencies: { semver: { version: '5.7.2' } },
        },
        tool: { version: 'github:user/tool#0123456789abcdef0123456789abcdef01234567' },
        local: { version: 'file:../local' },
      },
    };
    const { packages, issues } = await npmLockfile.extract(
      'package-lock.json',
      Buffer.from(JSON.stringify(lock)),
    );
    expect(packages.map((p) => `${p.location} ${p.name}@${p.version}`)).toEqual([
      'package-lock.json#node_modules/old-lodash lodash@4.17.4',
      'package-lock.json#node_modules/scoped @babel/core@7.0.0',
      'package-lock.json#node_modules/scoped/node_modules/semver semver@5.7.2',
    ]);
    expect(issues.map((i) => i.message)).toEqual([
      'package-lock.json: node_modules/tool is github:user/tool#0123456789abcdef0123456789abcdef01234567, not a registry version; not matched',
      'package-lock.json: node_modules/local is file:../local, not a registry version; not matched',
    ]);
  });

  it('reports malformed entries and survives a tree nested deeper than the call stack', async () => {
    const broken = await npmLockfile.extract(
      'package-lock.json',
      Buffer.from(
        '{"lockfileVersion":1,"dependencies":{"a":null,"b":{"version":"1.0.0","dependencies":7}}}',
      ),
    );
    expect(broken.packages.map((p) => p.name)).toEqual(['b']);
    expect(broken.issues.map((i) => i.message)).toEqual([
      'package-lock.json: node_modules/a is not an object; skipped',
      'package-lock.json: node_modules/b/ is not an object; skipped',
    ]);
    let tree = '{}';
    for (let i = 0; i < 20_000; i++) tree = `{"d":{"version":"1.0.0","dependencies":${tree}}}`;
    const deep = await npmLockfile.extract(
      'package-lock.json',
      Buffer.from(`{"lockfileVersion":1,"dependencies":${tree}}`),
    );
    expect(deep.packages).toHaveLength(20_000);
  });
});
