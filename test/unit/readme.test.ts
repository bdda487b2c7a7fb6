/**
 * The README's "Scanning an image locally" commands, run as written from the checkout against
 * the real data beside it (a fresh database and layer cache of the test's own).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/fixtures.js';
import { asScript, readmeBlock } from '../support/readme.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-readme-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it("runs the README's local scan commands: sync the real advisories, scan and list alpine:3.10", () => {
  const block = readmeBlock('test/unit/readme.test.ts');
  const run = spawnSync('bash', ['-c', asScript(block)], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      BOSUN_DB_DIR: path.join(work, 'db'),
      BOSUN_CACHE_DIR: path.join(work, 'cache'),
      npm_config_update_notifier: 'false',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(run.status, run.stderr).toBe(0);
  // The scan's table, then the SBOM as SPDX 2.3 tag-value.
  expect(run.stdout).toMatch(/Alpine Linux v3\.10, 14 packages, \d+ findings/);
  expect(run.stdout).toContain('SPDXVersion: SPDX-2.3');
  expect(run.stdout.match(/^PackageName: /gm)?.length).toBe(16);
}, 240_000);
