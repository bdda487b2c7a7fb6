/**
 * `npx bosun` from a checkout runs the CLI (package.json `bin`, bin/bosun.mjs), passing its
 * arguments, output and exit code through.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { alpine34Rootfs, PROJECT_ROOT } from '../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-npx-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const npx = (...args: string[]) =>
  spawnSync('npx', ['--no-install', 'bosun', ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });

it('runs the CLI with its arguments and exit codes', () => {
  const usage = npx();
  expect(usage.status).toBe(2);
  expect(usage.stderr).toMatch(/^usage: bosun <command>/);

  const sbom = npx('sbom', `dir:${alpine34Rootfs(work)}`, '--format', 'spdx3-json');
  expect(sbom.status, sbom.stderr).toBe(0);
  expect(JSON.parse(sbom.stdout)['@context']).toBe(
    'https://spdx.org/rdf/3.0.1/spdx-context.jsonld',
  );
}, 60_000);
