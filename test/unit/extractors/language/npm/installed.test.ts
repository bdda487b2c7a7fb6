import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { npmInstalled } from '../../../../../shared/extractors/language/npm/installed.js';
import { RootfsDirSource } from '../../../../../shared/image/rootfs-dir.js';
import type { Image } from '../../../../../shared/image/types.js';
import { buildInventory } from '../../../../../shared/inventory/inventory.js';
import { PROJECT_ROOT } from '../../../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-npm-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Copies real package.json files of this project's own node_modules (npm registry packages). */
function place(root: string, target: string, pkg: string): { name: string; version: string } {
  const from = path.join(PROJECT_ROOT, 'node_modules', pkg, 'package.json');
  mkdirSync(path.join(root, target), { recursive: true });
  copyFileSync(from, path.join(root, target, 'package.json'));
  const manifest = JSON.parse(readFileSync(from, 'utf8')) as { name: string; version: string };
  return { name: manifest.name, version: manifest.version };
}

describe('language/npm/installed', () => {
  it('reports hoisted, nested and scoped packages of node_modules, and nothing else', async () => {
    const root = path.join(work, 'app');
    const semver = place(root, 'srv/app/node_modules/semver', 'semver');
    const scoped = place(root, 'srv/app/node_modules/@aws-sdk/client-ecr', '@aws-sdk/client-ecr');
    const nested = place(
      root,
      'srv/app/node_modules/@aws-sdk/client-ecr/node_modules/tslib',
      'tslib',
    );
    // The application's own manifest and a manifest inside a package are not installed packages.
    writeFileSync(
      path.join(root, 'srv/app/package.json'),
      JSON.stringify({ name: 'my-app', version: '1.0.0' }),
    );
    mkdirSync(path.join(root, 'srv/app/node_modules/semver/test'), { recursive: true });
    writeFileSync(
      path.join(root, 'srv/app/node_modules/semver/test/package.json'),
      JSON.stringify({ name: 'fixture', version: '0.0.0' }),
    );

    const image = (await new RootfsDirSource(root).images()).images[0] as Image;
    const inventory = await buildInventory(image);
    const npm = inventory.packages.filter((p) => p.type === 'npm');
    expect(npm.map((p) => `${p.name}@${p.version} ${p.location}`).sort()).toEqual(
      [
        `${semver.name}@${semver.version} srv/app/node_modules/semver/package.json`,
        `${scoped.name}@${scoped.version} srv/app/node_modules/@aws-sdk/client-ecr/package.json`,
        `${nested.name}@${nested.version} srv/app/node_modules/@aws-sdk/client-ecr/node_modules/tslib/package.json`,
      ].sort(),
    );
    expect(npm.every((p) => p.ecosystem === 'npm')).toBe(true);
    expect(npm.find((p) => p.name === '@aws-sdk/client-ecr')?.purl).toBe(
      `pkg:npm/%40aws-sdk/client-ecr@${scoped.version}`,
    );
  });

  it('records a manifest that is not JSON or has no version', async () => {
    expect(
      (await npmInstalled.extract('node_modules/x/package.json', Buffer.from('{'))).issues[0]
        ?.message,
    ).toMatch(/^node_modules\/x\/package\.json: not JSON: /);
    expect(
      (await npmInstalled.extract('node_modules/x/package.json', Buffer.from('{"name":"x"}')))
        .issues[0]?.message,
    ).toBe('node_modules/x/package.json: no name or version');
  });
});
