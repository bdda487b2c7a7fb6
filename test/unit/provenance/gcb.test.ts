import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAttestation } from '../../../shared/provenance/attestation.js';
import { parseDsseEnvelope } from '../../../shared/provenance/crypto.js';
import {
  type GcbSigningMode,
  gcbSignatureVerifies,
  verifyGcbProvenance,
} from '../../../shared/provenance/gcb.js';
import { dataDir } from '../../support/fixtures.js';
import { failureOf } from './failure-of.js';

const DATA = path.join(dataDir(), 'provenance');
const KEYS_DIR = path.join(DATA, 'slsa-verifier/verifiers/internal/gcb/keys/materials');
const KEYS: ReadonlyMap<string, KeyObject> = new Map(
  readdirSync(KEYS_DIR).map((f) => [
    f.replace(/\.key$/, ''),
    createPublicKey(readFileSync(path.join(KEYS_DIR, f))),
  ]),
);

const ROWS = readFileSync(path.join(DATA, 'index/gcb-provenance-checks.tsv'), 'utf8')
  .trimEnd()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [file = '', summary = '', checks = ''] = line.split('\t');
    return { file, summary, checks };
  });

/** `prov0.sig1 ... verifies_with=a(PAE),b(raw payload)` → {'0.1': ['a(PAE)', 'b(raw payload)']} */
function indexedVerifiers(checks: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of checks.matchAll(
    /prov(\d+)\.sig(\d+) keyid-region=\S* verifies_with=(.+?)(?= \| |$)/g,
  ))
    out.set(`${m[1]}.${m[2]}`, m[3] === 'NONE' ? [] : (m[3] as string).split(','));
  for (const m of checks.matchAll(/prov(\d+)\.sig(\d+): sig undecodable/g))
    out.set(`${m[1]}.${m[2]}`, []);
  return out;
}

/**
 * What slsa-verifier expects of each file, from its name (data README: "Expected results follow
 * the file names"); the signature-level facts come from the index itself, above.
 */
function expectedOutcome(name: string): string {
  if (/no-signature|nosigs/.test(name)) return 'MALFORMED';
  if (/empty-keyid|no-keyid|invalid-keyid|signature-region/.test(name)) return 'UNTRUSTED';
  if (
    /empty-signature|invalid-signature-encoding|mismatch-payload|multiple-invalid|invalid-sig/.test(
      name,
    )
  )
    return 'INVALID_SIGNATURE';
  if (/mismatch-summary-digest|mismatch-metadata-urisha256/.test(name)) return 'DIGEST_MISMATCH';
  if (/mismatch-metadata-kind|invalid-kind|mismatch-text/.test(name)) return 'MALFORMED';
  return 'OK';
}

/** The image the file is about: its `.digest`, else its folder's github one, else its summary. */
function imageDigestFor(file: string, json: string | undefined): string {
  const own = path.join(DATA, file.replace(/\.json$/, '.digest'));
  const folder = path.join(DATA, path.dirname(file), 'gcloud-container-github.digest');
  for (const f of [own, folder]) if (existsSync(f)) return readFileSync(f, 'utf8').trim();
  // The unparseable files have no digest at all; any will do, they fail before it matters.
  return json ? JSON.parse(json).image_summary.digest : `sha256:${'0'.repeat(64)}`;
}

describe('index/gcb-provenance-checks.tsv', () => {
  it('has 61 rows', () => expect(ROWS).toHaveLength(61));

  it.each(ROWS.map((r) => [r.file.replace(/^.*testdata\//, ''), r] as const))(
    '%s: each signature verifies with exactly the keys the index names',
    (_name, row) => {
      const json = readFileSync(path.join(DATA, row.file), 'utf8');
      const indexed = indexedVerifiers(row.checks);
      if (row.checks.startsWith('UNPARSEABLE')) {
        expect(() => JSON.parse(json)).toThrow();
        return;
      }
      const doc = JSON.parse(json);
      const found = new Map<string, string[]>();
      doc.provenance_summary.provenance.forEach((p: { envelope: unknown }, i: number) => {
        const envelope = parseDsseEnvelope(p.envelope, 'envelope');
        envelope.signatures.forEach((s, j) => {
          const names: string[] = [];
          for (const [name, key] of KEYS)
            for (const [mode, label] of [
              ['raw', 'raw payload'],
              ['pae', 'PAE'],
            ] as [GcbSigningMode, string][])
              if (gcbSignatureVerifies(envelope, s.sig, key, mode)) names.push(`${name}(${label})`);
          found.set(`${i}.${j}`, names);
        });
      });
      expect(new Map([...found].map(([k, v]) => [k, v.sort()]))).toEqual(
        new Map([...indexed].map(([k, v]) => [k, v.sort()])),
      );
    },
  );

  it.each(ROWS.map((r) => [r.file.replace(/^.*testdata\//, ''), r] as const))(
    '%s: the whole file gets the outcome its name says',
    (_name, row) => {
      const json = readFileSync(path.join(DATA, row.file), 'utf8');
      const parseable = !row.checks.startsWith('UNPARSEABLE');
      const imageDigest = imageDigestFor(row.file, parseable ? json : undefined);
      if (parseable)
        expect(imageDigest.startsWith(row.summary) || /summary-digest/.test(row.file)).toBe(true);
      const expected = expectedOutcome(path.basename(row.file));
      expect(failureOf(() => verifyGcbProvenance(json, { imageDigest, keys: KEYS }))).toBe(
        expected,
      );
      if (expected !== 'OK') return;
      const result = verifyGcbProvenance(json, { imageDigest, keys: KEYS });
      expect(result.format).toBe('gcb-provenance');
      expect(result.trustRoot).toMatch(/^key:sha256:[0-9a-f]{64}$/);
      checkAttestation(result, imageDigest, {
        builderIds: ['https://cloudbuild.googleapis.com/GoogleHostedWorker'],
      });
    },
  );

  it('a key ring without the region the keyid names: UNTRUSTED, not a trial of other keys', () => {
    const file =
      'slsa-verifier/cli/slsa-verifier/testdata/gcb_container/v0.3/gcloud-container-github.json';
    const json = readFileSync(path.join(DATA, file), 'utf8');
    const imageDigest = imageDigestFor(file, json);
    const withoutRegion = new Map([...KEYS].filter(([name]) => name !== 'us-west2'));
    expect(failureOf(() => verifyGcbProvenance(json, { imageDigest, keys: withoutRegion }))).toBe(
      'UNTRUSTED',
    );
    // The us-west2 key under another region's name does not verify either.
    const swapped = new Map(KEYS);
    swapped.set('us-west2', KEYS.get('us-east1') as KeyObject);
    expect(failureOf(() => verifyGcbProvenance(json, { imageDigest, keys: swapped }))).toBe(
      'INVALID_SIGNATURE',
    );
    expect(
      failureOf(() =>
        verifyGcbProvenance(json, { imageDigest: `${imageDigest.slice(0, -1)}0`, keys: KEYS }),
      ),
    ).toBe('DIGEST_MISMATCH');
  });
});
