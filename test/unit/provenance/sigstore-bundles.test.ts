/**
 * Every Sigstore bundle of the shared data (index/sigstore-bundles.tsv, 204 rows) through
 * verifySigstoreBundle, offline, with the root, artifact, identity and key its source uses
 * (sigstore-bundle-cases.ts). Each row gets the outcome its source expects; where the source
 * names why a bundle must fail, the failure is checked too. Rows that cannot be evaluated as
 * the source does are listed below by name, with the outcome asserted and the reason.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KeylessIdentityPolicy } from '../../../shared/provenance/identity.js';
import { verifySigstoreBundle } from '../../../shared/provenance/sigstore.js';
import type { ProvenanceFailure, VerifiedSignature } from '../../../shared/provenance/types.js';
import { ProvenanceVerificationError } from '../../../shared/provenance/types.js';
import { type BundleCase, bundleCase, bundleRows, dataFile } from './sigstore-bundle-cases.js';

const SC = 'sigstore-conformance/test/assets/bundle-verify/';
const SV = 'slsa-verifier/cli/slsa-verifier/testdata/';
const GHA = 'slsa-verifier/verifiers/internal/gha/testdata/';

/**
 * Why a bundle must fail, as its source names it (the conformance case README, the sigstore-go
 * or sigstore-python test, the slsa-verifier file name), in Bosun's terms.
 */
const NAMED_REASONS: Record<string, ProvenanceFailure> = {
  [`${SC}bundle-empty-certificate-chain_fail`]: 'MALFORMED',
  [`${SC}bundle-from-wrong-instance_fail`]: 'UNTRUSTED',
  [`${SC}bundle-invalid-base64-signature_fail`]: 'MALFORMED',
  [`${SC}bundle-malformed-json_fail`]: 'MALFORMED',
  [`${SC}bundle-negative-log-index_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}bundle-unknown-version_fail`]: 'UNSUPPORTED',
  [`${SC}checkpoint-bad-keyhint_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}checkpoint-wrong-roothash_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}dsse-invalid-sig_fail`]: 'INVALID_SIGNATURE',
  [`${SC}dsse-mismatch-envelope_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}dsse-mismatch-sig_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}inclusion-proof-corrupted-hash_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}incorrect-public-key_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}integrated-time-in-future_fail`]: 'EXPIRED',
  [`${SC}intoto-expired-certificate_fail`]: 'EXPIRED',
  [`${SC}intoto-log-entry-mismatch_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}intoto-missing-inclusion-proof_fail`]: 'MALFORMED',
  [`${SC}intoto-set-outside-signing-cert-validity_fail`]: 'EXPIRED',
  [`${SC}intoto-tsa-timestamp-outside-cert-validity_fail`]: 'EXPIRED',
  [`${SC}invalid-checkpoint-signature_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}invalid-ct-key_fail`]: 'UNTRUSTED',
  [`${SC}invalid-inclusion-proof_fail`]: 'MALFORMED',
  [`${SC}managed-key-no-key_fail`]: 'UNTRUSTED',
  // The case's key.pub is a corrupted key ("...wrongkey=="): it cannot be read at all.
  [`${SC}managed-key-wrong-key_fail`]: 'MALFORMED',
  [`${SC}message-digest-mismatch_fail`]: 'DIGEST_MISMATCH',
  [`${SC}rekor2-checkpoint-missing-log-signature_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}rekor2-checkpoint-missing-origin_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}rekor2-checkpoint-missing-root-hash_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}rekor2-checkpoint-missing-size_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}rekor2-checkpoint-no-matching-signature_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}rekor2-dsse-invalid-sig_fail`]: 'INVALID_SIGNATURE',
  [`${SC}rekor2-dsse-mismatch-envelope_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}rekor2-dsse-mismatch-sig_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}rekor2-no-inclusion-proof_fail`]: 'MALFORMED',
  [`${SC}rekor2-no-timestamp_fail`]: 'UNTRUSTED',
  [`${SC}rekor2-timestamp-outside-trust-root-tsa-validity_fail`]: 'UNTRUSTED',
  [`${SC}rekor2-timestamp-outside-tsa-cert-validity_fail`]: 'UNTRUSTED',
  [`${SC}rekor2-timestamp-payload-mismatch_fail`]: 'UNTRUSTED',
  [`${SC}rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail`]: 'UNTRUSTED',
  [`${SC}rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail`]: 'UNTRUSTED',
  [`${SC}rekor2-timestamp-with-incorrect-time_fail`]: 'EXPIRED',
  [`${SC}set-invalid-signature_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}signature-mismatch_fail`]: 'INVALID_SIGNATURE',
  // The case whose trusted root @sigstore/verify 4.x accepts: refused when the root is read.
  [`${SC}trust-root-tlog-missing-validity-start_fail`]: 'UNTRUSTED',
  [`${SC}wrong-hashedrekord-artifact_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}wrong-hashedrekord-cert-and-sig_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}wrong-hashedrekord-entry_fail`]: 'TRANSPARENCY_LOG',
  [`${SC}wrong-material_fail`]: 'DIGEST_MISMATCH',
  'gh-cli/pkg/cmd/attestation/test/data/github_provenance_demo-0.0.12-py3-none-any-bundle-missing-cert':
    'MALFORMED',
  'gh-cli/pkg/cmd/attestation/test/data/github_provenance_demo-0.0.12-py3-none-any-bundle-missing-verification-material':
    'MALFORMED',
  'sigstore-go/pkg/testing/data/bundles/dsse-2sigs': 'MALFORMED',
  'sigstore-go/pkg/testing/data/bundles/public-key-validity': 'EXPIRED',
  'sigstore-python/test/assets/bundle_cve_2022_36056': 'TRANSPARENCY_LOG',
  'sigstore-python/test/assets/bundle_no_cert_v1': 'MALFORMED',
  'sigstore-python/test/assets/bundle_no_checkpoint': 'MALFORMED',
  'sigstore-python/test/assets/bundle_no_log_entry': 'TRANSPARENCY_LOG',
  'sigstore-python/test/assets/bundle_v3_no_signed_time': 'UNTRUSTED',
  'sigstore-python/test/assets/integration/Python-3.12.5.tgz': 'TRANSPARENCY_LOG',
  [`${GHA}bundle/invalid-set`]: 'TRANSPARENCY_LOG',
  // slsa-verifier's npm files: `invalidsigprov`/`invalidsigpub` (ErrorInvalidSignature).
  [`${SV}npm/gha/`]: 'INVALID_SIGNATURE',
};

/**
 * Failures whose source names a reason that Bosun reports differently, with why; the row must
 * still fail.
 */
const OTHER_REASONS: Record<string, { failure: ProvenanceFailure; why: string }> = {
  [`${SC}bundle-with-root-cert_fail`]: {
    failure: 'TRANSPARENCY_LOG',
    why: 'a v0.1 chain may include its root (sigstore-js, slsa-verifier bundles do); this one also has an inclusion proof without a checkpoint, refused first',
  },
  'gh-cli/pkg/cmd/attestation/test/data/sigstoreBundle-invalid-signature': {
    failure: 'UNSUPPORTED',
    why: 'its DSSE payload is text/plain, not an in-toto statement, refused before the signature',
  },
  [`${GHA}bundle/invalid-dsse-sig`]: {
    failure: 'TRANSPARENCY_LOG',
    why: 'its SET no longer verifies either, and the log is checked before the signature',
  },
  [`${GHA}bundle/mismatch-tlog`]: {
    failure: 'EXPIRED',
    why: "the swapped log entry's integrated time is outside the certificate's validity",
  },
  'sigstore-python/test/assets/tsa/bundle.duplicate': {
    failure: 'UNTRUSTED',
    why: 'as tsa/bundle.txt.sigstore below: no timestamp from tsa/ca.json verifies in @sigstore/verify',
  },
  'sigstore-python/test/assets/tsa/bundle.many_timestamp': {
    failure: 'UNTRUSTED',
    why: 'as tsa/bundle.txt.sigstore below',
  },
  'sigstore-python/test/assets/tsa/bundle.txt.late_timestamp': {
    failure: 'UNTRUSTED',
    why: 'as tsa/bundle.txt.sigstore below',
  },
};

/** Rows whose source's outcome cannot be reproduced here, with the outcome asserted instead. */
const NOT_AS_SOURCE: Record<string, { failure: ProvenanceFailure; why: string }> = {
  'gh-cli/pkg/cmd/attestation/test/data/github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl': {
    failure: 'UNTRUSTED',
    why: "signed by GitHub's own Sigstore instance, whose trusted root is not obtainable; against the public-good root its RFC 3161 timestamp is untrusted",
  },
  'sigstore-go/pkg/testing/data/bundles/othername.sigstore.json': {
    failure: 'TRANSPARENCY_LOG',
    why: "its checkpoint is signed under the name of a scaffolding pod, not scaffolding.json's log URL; @sigstore/verify (3.x and 4.x) requires the signed-note name to match the log, sigstore-go does not",
  },
  'sigstore-python/test/assets/tsa/bundle.txt.sigstore': {
    failure: 'UNTRUSTED',
    why: 'sigstore-python accepts its RFC 3161 timestamp from the test TSA of tsa/ca.json; @sigstore/verify (3.1.1 and 4.1.3 alike, data README) does not: TIMESTAMP_ERROR',
  },
};

/** Bazel Central Registry attestations: trusted builders for aspect-build/rules_lint. */
const BCR_POLICY: KeylessIdentityPolicy = {
  issuer: 'https://token.actions.githubusercontent.com',
  subject: {
    regex:
      'https://github\\.com/bazel-contrib/(publish-to-bcr/\\.github/workflows/publish\\.yaml|\\.github/\\.github/workflows/release_ruleset\\.yaml)@refs/tags/v[0-9.]+',
  },
  extensions: { sourceRepositoryURI: 'https://github.com/aspect-build/rules_lint' },
};

type Outcome =
  | { ok: true; result: VerifiedSignature }
  | { ok: false; error: ProvenanceVerificationError };

function run(
  c: BundleCase,
  override?: Partial<Parameters<typeof verifySigstoreBundle>[1]>,
): Outcome {
  try {
    return { ok: true, result: verifySigstoreBundle(c.bundle, { ...c.options(), ...override }) };
  } catch (error) {
    if (error instanceof ProvenanceVerificationError) return { ok: false, error };
    throw error;
  }
}

/** The entry whose key is the longest prefix of the row's id (a case folder, a file stem). */
function lookup<T>(table: Record<string, T>, id: string): T | undefined {
  const keys = Object.keys(table).filter((k) => id.startsWith(k));
  const longest = keys.sort((x, y) => y.length - x.length)[0];
  return longest === undefined ? undefined : table[longest];
}

const cases = bundleRows().map(bundleCase);

describe('Sigstore bundles of the shared data, as their sources expect', () => {
  it('covers all 204 rows of the index', () => {
    expect(cases).toHaveLength(204);
  });

  const passing = cases.filter(
    (c) => c.row.expected_by_source === 'pass' && !NOT_AS_SOURCE[c.row.path],
  );
  it.each(passing.map((c) => [c.id, c.artifactSource, c] as const))(
    'verifies %s (artifact %s)',
    (_, __, c) => {
      const outcome = run(c, c.row.path.startsWith(`${SV}bcr/`) ? { identity: BCR_POLICY } : {});
      if (!outcome.ok) throw outcome.error;
      expect(outcome.result.format).toBe('sigstore-bundle');
      expect(outcome.result.trustRoot).toMatch(/^(sigstore|key:sha256):[0-9a-f]{64}$/);
      expect(outcome.result.signedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      if (c.row.content.startsWith('dsse:'))
        expect(outcome.result.statement?.subject.length).toBeGreaterThan(0);
    },
  );

  const failing = cases.filter((c) => c.row.expected_by_source === 'fail');
  it.each(failing.map((c) => [c.id, c] as const))('rejects %s', (_, c) => {
    const outcome = run(c);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    const named = lookup(NAMED_REASONS, c.id) ?? lookup(OTHER_REASONS, c.id)?.failure;
    expect(named, `no reason recorded for ${c.id}: ${outcome.error.message}`).toBeDefined();
    expect(outcome.error.failure, outcome.error.message).toBe(named);
  });

  it('rejects the BCR attestation signed by an untrusted workflow (slsa-verifier ErrorUntrustedReusableWorkflow)', () => {
    const wrong = cases.filter((c) => c.row.expected_by_source === 'fail-policy');
    expect(wrong.map((c) => c.id)).toEqual([`${SV}bcr/MODULE-wrong-signer.bazel.intoto.jsonl`]);
    for (const c of wrong) {
      // The Sigstore layer verifies (the identity the certificate states)...
      expect(run(c).ok).toBe(true);
      // ...the builder policy the genuine BCR attestations pass does not.
      const outcome = run(c, { identity: BCR_POLICY });
      expect(outcome.ok ? undefined : outcome.error.failure).toBe('IDENTITY_MISMATCH');
    }
  });

  it('rejects every slsa-verifier npm file that must fail as a whole, for the reason its name gives', () => {
    const byFile = new Map<string, BundleCase[]>();
    for (const c of cases.filter((c) => c.row.expected_by_source === 'fail (file-level)'))
      byFile.set(c.row.path, [...(byFile.get(c.row.path) ?? []), c]);
    expect(byFile.size).toBe(12);
    for (const [file, bundles] of byFile) {
      const outcomes = bundles.map((c) => run(c));
      // The registry response names each attestation's predicateType beside its bundle;
      // slsa-verifier refuses a file where that differs from the signed statement's.
      const wrappers = (
        JSON.parse(readFileSync(dataFile(file), 'utf8')) as {
          attestations: { predicateType: string }[];
        }
      ).attestations;
      const mismatched = outcomes.some(
        (o, i) => o.ok && o.result.statement?.predicateType !== wrappers[i]?.predicateType,
      );
      const rejected = outcomes.some((o) => !o.ok);
      expect(
        rejected || mismatched,
        `${file}: ${outcomes.map((o) => (o.ok ? 'verified' : o.error.message)).join(' / ')}`,
      ).toBe(true);
      if (/predicatetype/.test(file) && !rejected) expect(mismatched).toBe(true);
    }
  });

  it('verifies the protobuf-specs parse fixture, for which its source states no outcome', () => {
    const na = cases.filter((c) => c.row.expected_by_source === 'n/a');
    expect(na.map((c) => c.id)).toEqual([
      'sigstore-protobuf-specs/gen/pb-rust/sigstore-protobuf-specs/assets/a.txt.sigstore',
    ]);
    for (const c of na) expect(run(c).ok).toBe(true);
  });

  it.each(Object.entries(NOT_AS_SOURCE))(
    'cannot reproduce the source for %s: %j',
    (path, { failure }) => {
      const c = cases.find((c) => c.row.path === path);
      expect(c?.row.expected_by_source).toBe('pass');
      const outcome = c ? run(c) : undefined;
      expect(outcome?.ok === false ? outcome.error.failure : 'verified').toBe(failure);
    },
  );

  it('counts the rows whose artifact is not in the data (bound to the digest the bundle states)', () => {
    const unstaged = cases.filter((c) => c.artifactSource === 'digest-from-bundle');
    const bySource: Record<string, number> = {};
    for (const c of unstaged) {
      const source = c.row.path.split('/')[0] ?? '';
      bySource[source] = (bySource[source] ?? 0) + 1;
    }
    // slsa-verifier (binaries, npm .tgz, Bazel archives), gh-cli (wheels), sigstore-js and
    // sigstore-go (npm tarballs; othername's Go test names only a digest prefix), cosign (an
    // image), sigstore-python (a .whl, a .tgz, and a DSSE bundle verified without artifact).
    expect(bySource).toEqual({
      'slsa-verifier': 89,
      'gh-cli': 10,
      'sigstore-js': 9,
      'sigstore-go': 6,
      'sigstore-python': 3,
      cosign: 1,
    });
    expect(cases.filter((c) => c.artifactSource === 'staged')).toHaveLength(85);
    expect(cases.filter((c) => c.artifactSource === 'stated-by-source').map((c) => c.id)).toEqual([
      'sigstore-go/pkg/testing/data/bundles/public-key-validity.sigstore.json',
    ]);
  });

  it('@sigstore/verify 3.1.1 rejects the Rekor v2 DSSE bundles; Bosun verifies them against the PAE digest', () => {
    const rekorV2Dsse = cases.filter((c) => {
      if (c.row.expected_by_source !== 'pass' || !c.row.content.startsWith('dsse:')) return false;
      const bundle = JSON.parse(c.bundle) as {
        verificationMaterial: { tlogEntries?: { kindVersion: { kind: string } }[] };
      };
      return bundle.verificationMaterial.tlogEntries?.some(
        (e) => e.kindVersion.kind === 'hashedrekord',
      );
    });
    expect(rekorV2Dsse.map((c) => c.id).sort()).toEqual([
      `${SC}rekor2-dsse-happy-path/bundle.sigstore.json`,
      'sigstore-python/test/assets/a.dsse.staging-rekor-v2.txt.sigstore.json',
    ]);
    for (const c of rekorV2Dsse) expect(run(c).ok).toBe(true);
  });
});
