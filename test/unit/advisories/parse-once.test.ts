/**
 * Issue 17 #11: a YAML advisory was parsed twice, once to tell its format and once more by its
 * importer; YAML parsing is most of what loading a RubySec or Alpine secdb file costs.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { dataDir } from '../../support/fixtures.js';

// Counts the parses of the real YAML library; each call still parses.
const parses = vi.hoisted(() => ({ count: 0 }));
vi.mock('yaml', async (importOriginal) => {
  const yaml = await importOriginal<typeof import('yaml')>();
  return {
    ...yaml,
    parse: (...args: Parameters<typeof yaml.parse>) => {
      parses.count++;
      return yaml.parse(...args);
    },
  };
});

const { loadAdvisories } = await import('../../../shared/advisories/load.js');

const work = mkdtempSync(path.join(tmpdir(), 'bosun-parse-once-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('loading YAML advisories', () => {
  it('parses each RubySec and Alpine secdb file once and still imports it', () => {
    const advisories = path.join(dataDir(), 'advisories');
    cpSync(
      path.join(advisories, 'rubysec-ruby-advisory-db/gems/RedCloth'),
      path.join(work, 'rubysec'),
      { recursive: true },
    );
    cpSync(
      path.join(advisories, 'alpine-secdb-legacy/v3.10/main.yaml'),
      path.join(work, 'alpine/v3.10-main.yaml'),
    );
    parses.count = 0;
    const loaded = loadAdvisories(work);
    expect(loaded.files).toBe(3);
    expect(parses.count).toBe(3);
    // The one word of v3.10's file that is no id (a placeholder beside a Xen advisory).
    expect(loaded.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(
        /xen: "CVE-\?\?\?\?-\?\?\?\?\?" in .* is not a vulnerability id; skipped$/,
      ),
    ]);
    const ids = loaded.records.map((r) => r.id);
    expect(ids).toContain('RUBYSEC-RedCloth-CVE-2012-6684');
    expect(ids.filter((id) => id.startsWith('ALPINE-CVE-')).length).toBeGreaterThan(100);
  });
});
