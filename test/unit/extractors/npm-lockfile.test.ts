import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { npmLockfile } from '../../../shared/extractors/npm-lockfile.js';
import { PROJECT_ROOT } from '../../support/fixtures.js';

describe('npm/lockfile', () => {
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
    // The versions pinned in package.json are what the lockfile installs.
    const pinned = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const [name, version] of Object.entries(pinned.dependencies)) {
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
    const v1 = await npmLockfile.extract(
      'package-lock.json',
      Buffer.from('{"lockfileVersion": 1, "dependencies": {}}'),
    );
    expect(v1.issues[0]?.message).toBe(
      'package-lock.json: lockfileVersion 1 is not read (2 and 3 are)',
    );
  });
});
