/**
 * decideVerdict, table-driven: the verdict of every combination that matters, from outcomes
 * as verify-image.ts produces them (one per signature and authority). The outcomes here are
 * result records, not signatures: verify-image.test.ts checks real signatures end to end.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProvenancePolicy, selectRule } from '../../../shared/provenance/policy.js';
import {
  type InTotoStatement,
  type ProvenanceFailure,
  ProvenanceVerificationError,
  type VerifiedSignature,
} from '../../../shared/provenance/types.js';
import {
  decideVerdict,
  type SignatureOutcome,
  type VerdictStatus,
} from '../../../shared/provenance/verdict.js';
import { dataDir } from '../../support/fixtures.js';

const IMAGE = `sha256:${'a'.repeat(64)}`;
// Real P-256 keys (connaisseur's alice and bob), so that the policy parses.
const key = (name: string) =>
  JSON.stringify(
    readFileSync(
      path.join(dataDir(), 'provenance/connaisseur/test/testdata/cosign', `${name}.key`),
      'utf8',
    ),
  );

const policy = parseProvenancePolicy(`
apiVersion: provenance.bosun.dev/v1
authorities:
  alice: { key: ${key('alice')} }
  alice-again: { key: ${key('alice')} }
  bob: { key: ${key('bob')} }
  ci:
    keyless:
      trustedRoot: public-good
      identities: [{ issuer: https://token.actions.githubusercontent.com, subject: { regex: ".*" } }]
  release-alice:
    keyless:
      trustedRoot: public-good
      identities: [{ issuer: https://accounts.google.com, subject: alice@example.com }]
  release-bob:
    keyless:
      trustedRoot: public-good
      identities: [{ issuer: https://accounts.google.com, subject: bob@example.com }]
rules:
  - name: keyless-two
    repositories: [r/keyless]
    signatures: { threshold: 2, of: [release-alice, release-bob] }
  - name: one
    repositories: [r/one]
    signatures: alice
  - name: two-roots
    repositories: [r/two]
    signatures: { threshold: 2, of: [alice, alice-again, bob] }
  - name: nested
    repositories: [r/nested]
    mode: audit
    signatures:
      allOf:
        - anyOf: [alice, bob]
        - anyOf: [ci, { allOf: [alice, bob] }]
  - name: slsa
    repositories: [r/slsa]
    signatures: alice
    attestations:
      - predicateType: https://slsa.dev/provenance/v0.2
        authorities: [ci]
        conditions:
          builderIds: [https://builder.example/b]
          maxAgeSeconds: 3600
default:
  signatures: { anyOf: [alice, bob] }
`);

const ROOT = { alice: 'key:sha256:alice', bob: 'key:sha256:bob', ci: 'sigstore:public-good' };
const NOW = new Date('2026-01-01T12:00:00Z');

function ok(authority: string, root: string, layer = 0, statement?: InTotoStatement) {
  const result: VerifiedSignature = {
    format: statement ? 'cosign-dsse' : 'cosign-simple-signing',
    subjectDigest: IMAGE,
    signer: { kind: 'key', keyId: root.replace('key:', '') },
    trustRoot: root,
    signedAt: '2026-01-01T11:30:00Z',
    ...(statement ? { statement } : {}),
  };
  return { source: `sha256:sig#${layer}`, authority, result } satisfies SignatureOutcome;
}
function bad(authority: string, failure: ProvenanceFailure, layer = 0): SignatureOutcome {
  return {
    source: `sha256:sig#${layer}`,
    authority,
    result: new ProvenanceVerificationError(failure, `${failure.toLowerCase()} test`),
  };
}
const slsa = (builder: string): InTotoStatement => ({
  _type: 'https://in-toto.io/Statement/v0.1',
  subject: [{ digest: { sha256: IMAGE.slice(7) } }],
  predicateType: 'https://slsa.dev/provenance/v0.2',
  predicate: { builder: { id: builder }, buildType: 't' },
});

const verdict = (repository: string, outcomes: SignatureOutcome[], now = NOW) =>
  decideVerdict({
    subjectDigest: IMAGE,
    repository,
    policy,
    rule: selectRule(policy, repository),
    outcomes,
    now,
  });

describe('decideVerdict', () => {
  it.each<[string, string, SignatureOutcome[], VerdictStatus]>([
    ['nothing found', 'r/one', [], 'UNSIGNED'],
    ['the required key', 'r/one', [ok('alice', ROOT.alice)], 'VERIFIED'],
    ['another key only', 'r/one', [bad('alice', 'UNTRUSTED')], 'UNTRUSTED'],
    ['a broken signature', 'r/one', [bad('alice', 'DIGEST_MISMATCH')], 'INVALID'],
    [
      'broken and untrusted: broken wins',
      'r/one',
      [bad('alice', 'UNTRUSTED', 0), bad('alice', 'INVALID_SIGNATURE', 1)],
      'INVALID',
    ],
    [
      'one good signature beside a broken one',
      'r/one',
      [ok('alice', ROOT.alice, 0), bad('alice', 'INVALID_SIGNATURE', 1)],
      'VERIFIED',
    ],
    [
      'an identity mismatch is untrusted',
      'r/one',
      [bad('alice', 'IDENTITY_MISMATCH')],
      'UNTRUSTED',
    ],
    ['an expired certificate is invalid', 'r/one', [bad('alice', 'EXPIRED')], 'INVALID'],
    // Thresholds count distinct trust roots.
    [
      'threshold 2: alice signing twice',
      'r/two',
      [ok('alice', ROOT.alice, 0), ok('alice', ROOT.alice, 1)],
      'POLICY_FAILED',
    ],
    [
      'threshold 2: alice under two authority names',
      'r/two',
      [ok('alice', ROOT.alice), ok('alice-again', ROOT.alice)],
      'POLICY_FAILED',
    ],
    [
      'threshold 2: alice and bob',
      'r/two',
      [ok('alice', ROOT.alice, 0), ok('bob', ROOT.bob, 1)],
      'VERIFIED',
    ],
    [
      'threshold 2: bob alone, alice broken',
      'r/two',
      [ok('bob', ROOT.bob, 1), bad('alice', 'INVALID_SIGNATURE', 0)],
      'POLICY_FAILED',
    ],
    // allOf [anyOf [alice, bob], anyOf [ci, allOf [alice, bob]]]
    ['nested: alice alone', 'r/nested', [ok('alice', ROOT.alice)], 'POLICY_FAILED'],
    ['nested: alice and ci', 'r/nested', [ok('alice', ROOT.alice), ok('ci', ROOT.ci)], 'VERIFIED'],
    [
      'nested: alice and bob',
      'r/nested',
      [ok('alice', ROOT.alice), ok('bob', ROOT.bob, 1)],
      'VERIFIED',
    ],
    ['nested: ci alone', 'r/nested', [ok('ci', ROOT.ci)], 'POLICY_FAILED'],
    // Attestations
    [
      'slsa: signature and a good attestation',
      'r/slsa',
      [ok('alice', ROOT.alice), ok('ci', ROOT.ci, 1, slsa('https://builder.example/b'))],
      'VERIFIED',
    ],
    [
      'slsa: another builder',
      'r/slsa',
      [ok('alice', ROOT.alice), ok('ci', ROOT.ci, 1, slsa('https://builder.example/evil'))],
      'POLICY_FAILED',
    ],
    ['slsa: no attestation', 'r/slsa', [ok('alice', ROOT.alice)], 'POLICY_FAILED'],
    [
      'slsa: attested by an authority the requirement does not name',
      'r/slsa',
      [ok('alice', ROOT.alice), ok('alice', ROOT.alice, 1, slsa('https://builder.example/b'))],
      'POLICY_FAILED',
    ],
    [
      'slsa: an attestation does not count as the image signature',
      'r/slsa',
      [
        ok('alice', ROOT.alice, 1, slsa('https://builder.example/b')),
        ok('ci', ROOT.ci, 2, slsa('https://builder.example/b')),
      ],
      'POLICY_FAILED',
    ],
    ['default rule: bob', 'elsewhere/app', [ok('bob', ROOT.bob)], 'VERIFIED'],
  ])('%s', (_name, repository, outcomes, status) => {
    expect(verdict(repository, outcomes).status).toBe(status);
  });

  it('says which signatures satisfied which requirement', () => {
    const v = verdict('r/two', [ok('alice', ROOT.alice, 0), ok('bob', ROOT.bob, 1)]);
    expect(v).toMatchObject({
      rule: 'two-roots',
      mode: 'enforce',
      policyVersion: policy.version,
      reasons: [],
      requirements: [
        {
          requirement: 'threshold 2 of [alice, alice-again, bob]',
          met: true,
          satisfiedBy: [
            { source: 'sha256:sig#0', authority: 'alice', trustRoot: ROOT.alice },
            { source: 'sha256:sig#1', authority: 'bob', trustRoot: ROOT.bob },
          ],
        },
      ],
    });
  });

  it('counts two keyless signers certified by one Fulcio as two, and one signer twice as one', () => {
    const keyless = (authority: string, email: string, layer: number): SignatureOutcome => ({
      source: `sha256:sig#${layer}`,
      authority,
      result: {
        format: 'sigstore-bundle',
        subjectDigest: IMAGE,
        signer: {
          kind: 'certificate',
          subject: '',
          sans: [email],
          oidcIssuer: 'https://accounts.google.com',
          extensions: {},
          chain: [`sha256:${layer}`, 'sha256:fulcio'],
        },
        trustRoot: ROOT.ci,
      },
    });
    const both = [
      keyless('release-alice', 'alice@example.com', 0),
      keyless('release-bob', 'bob@example.com', 1),
    ];
    expect(verdict('r/keyless', both).status).toBe('VERIFIED');
    const aliceTwice = [
      keyless('release-alice', 'alice@example.com', 0),
      keyless('release-alice', 'alice@example.com', 1),
    ];
    const twice = verdict('r/keyless', aliceTwice);
    expect(twice.status).toBe('POLICY_FAILED');
    expect(twice.reasons).toEqual([
      'threshold 2 of [release-alice, release-bob]: signatures from 1 distinct signer (2 signatures)',
    ]);
  });

  it('names the distinct signers a threshold counted', () => {
    const v = verdict('r/two', [ok('alice', ROOT.alice, 0), ok('alice', ROOT.alice, 1)]);
    expect(v.reasons).toEqual([
      'threshold 2 of [alice, alice-again, bob]: signatures from 1 distinct signer (2 signatures)',
    ]);
  });

  it('keeps the audit mode of the rule, with the same verdict', () => {
    const v = verdict('r/nested', [ok('alice', ROOT.alice)]);
    expect(v.mode).toBe('audit');
    expect(v.status).toBe('POLICY_FAILED');
    expect(v.reasons[0]).toContain('anyOf [ci, allOf [alice, bob]]');
  });

  it('reports failures, and the attestation condition that failed', () => {
    const v = verdict('r/slsa', [
      ok('alice', ROOT.alice),
      bad('ci', 'TRANSPARENCY_LOG', 2),
      ok('ci', ROOT.ci, 1, slsa('https://builder.example/evil')),
    ]);
    expect(v.failures).toEqual([
      {
        source: 'sha256:sig#2',
        authority: 'ci',
        failure: 'TRANSPARENCY_LOG',
        message: 'TRANSPARENCY_LOG: transparency_log test',
      },
    ]);
    expect(v.reasons.join()).toMatch(/builder "https:\/\/builder.example\/evil" is not one of/);
  });

  it('an attestation older than maxAgeSeconds fails the rule', () => {
    const statement = slsa('https://builder.example/b');
    const outcomes = [ok('alice', ROOT.alice), ok('ci', ROOT.ci, 1, statement)];
    expect(verdict('r/slsa', outcomes, new Date('2026-01-01T12:29:00Z')).status).toBe('VERIFIED');
    expect(verdict('r/slsa', outcomes, new Date('2026-01-01T12:31:00Z')).status).toBe(
      'POLICY_FAILED',
    );
  });

  it('UNSIGNED and INVALID explain themselves', () => {
    expect(verdict('r/one', []).reasons[0]).toBe(`no signature or attestation found for ${IMAGE}`);
    expect(verdict('r/one', [bad('alice', 'DIGEST_MISMATCH')]).reasons[0]).toBe(
      'sha256:sig#0 (alice): DIGEST_MISMATCH: digest_mismatch test',
    );
  });

  it('never reads as merely unsigned when a signature was found but could not be read', () => {
    const unread = [{ where: 'cosign-tag sha256-aa.sig', message: 'blob over the limit' }];
    const input = {
      subjectDigest: IMAGE,
      repository: 'r/one',
      policy,
      rule: selectRule(policy, 'r/one'),
      now: NOW,
      unread,
    };
    const none = decideVerdict({ ...input, outcomes: [] });
    expect(none.status).toBe('UNSIGNED');
    expect(none.reasons.slice(0, 2)).toEqual([
      `no signature or attestation of ${IMAGE} could be read (1 found but not read)`,
      'not read: cosign-tag sha256-aa.sig: blob over the limit',
    ]);
    expect(none.unread).toEqual(unread);
    const broken = decideVerdict({ ...input, outcomes: [bad('alice', 'DIGEST_MISMATCH')] });
    expect(broken.reasons).toContain('not read: cosign-tag sha256-aa.sig: blob over the limit');
    expect(verdict('r/one', []).unread).toBeUndefined();
  });
});
