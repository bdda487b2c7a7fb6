import { createPublicKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type AttestationConditions,
  checkAttestation,
  normalizeSourceUri,
  parseStatement,
  slsaFacts,
} from '../../../shared/provenance/attestation.js';
import {
  type CosignLayer,
  verifyAttestationLayer,
} from '../../../shared/provenance/cosign-legacy.js';
import { verifyGcbProvenance } from '../../../shared/provenance/gcb.js';
import { parseTrustedRoot } from '../../../shared/provenance/trusted-root.js';
import type { VerifiedSignature } from '../../../shared/provenance/types.js';
import { dataDir } from '../../support/fixtures.js';
import { failureOf } from './failure-of.js';

const DATA = path.join(dataDir(), 'provenance');
const text = (relative: string) => readFileSync(path.join(DATA, relative), 'utf8');
const TESTDATA = 'slsa-verifier/cli/slsa-verifier/testdata';

/**
 * The conditions only read the statement and `signedAt`; these real statements are taken from
 * their envelopes or files without a signature check (cosign-legacy.test.ts and the Sigstore
 * bundle tests verify the signatures), so the wrapper names no real trust root.
 */
function unsigned(statementJson: string, signedAt?: string): VerifiedSignature {
  return {
    format: 'cosign-dsse',
    subjectDigest: '',
    signer: { kind: 'key', keyId: 'sha256:unsigned' },
    trustRoot: 'key:sha256:unsigned',
    ...(signedAt ? { signedAt } : {}),
    statement: parseStatement(statementJson),
  };
}

/** The DSSE payload of the first line of a `.jsonl`/`.build.slsa` file (bundle or envelope). */
function payloadOf(relative: string): string {
  const first = JSON.parse(text(relative).split('\n')[0] as string);
  const envelope = first.dsseEnvelope ?? first;
  return Buffer.from(envelope.payload, 'base64').toString('utf8');
}

const subjectOf = (s: VerifiedSignature, i = 0) =>
  `sha256:${s.statement?.subject[i]?.digest.sha256}`;

const GENERATOR = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows';

/** `conditions` hold for the statement, and changing `broken` of them fails by identity. */
function expectMetThenBroken(
  sig: VerifiedSignature,
  conditions: AttestationConditions,
  broken: AttestationConditions,
): void {
  expect(failureOf(() => checkAttestation(sig, subjectOf(sig), conditions))).toBe('OK');
  expect(failureOf(() => checkAttestation(sig, subjectOf(sig), { ...conditions, ...broken }))).toBe(
    'IDENTITY_MISMATCH',
  );
}

describe('SLSA v0.2: slsa-github-generator statements', () => {
  const sig = unsigned(
    text(
      'slsa-github-generator/.github/actions/sign-attestations/testdata/attestations/attestation1.intoto',
    ),
  );
  const digest = subjectOf(sig);
  const pass: AttestationConditions = {
    predicateTypes: ['https://slsa.dev/provenance/v0.2'],
    builderIds: [`${GENERATOR}/builder_go_slsa3.yml@refs/tags/v1.2.2`],
    sourceRepositories: ['https://github.com/slsa-framework/slsa-verifier'],
    buildTypes: ['https://github.com/slsa-framework/slsa-github-generator/go@v1'],
  };

  it('reads builder, build type and source from the predicate', () => {
    expect(slsaFacts(sig.statement as NonNullable<VerifiedSignature['statement']>)).toEqual({
      builderId: `${GENERATOR}/builder_go_slsa3.yml@refs/tags/v1.2.2`,
      buildType: 'https://github.com/slsa-framework/slsa-github-generator/go@v1',
      sourceUri: 'git+https://github.com/slsa-framework/slsa-verifier@refs/tags/v2.0.1',
    });
  });

  it('passes the conditions it meets, a builder id without @ref included', () => {
    expect(failureOf(() => checkAttestation(sig, digest, pass))).toBe('OK');
    expect(
      failureOf(() =>
        checkAttestation(sig, digest, { builderIds: [`${GENERATOR}/builder_go_slsa3.yml`] }),
      ),
    ).toBe('OK');
  });

  it.each([
    ['another image', { imageDigest: `sha256:${'0'.repeat(64)}` }, 'DIGEST_MISMATCH'],
    [
      'predicate type v1',
      { predicateTypes: ['https://slsa.dev/provenance/v1'] },
      'IDENTITY_MISMATCH',
    ],
    [
      'generic builder',
      { builderIds: [`${GENERATOR}/generator_generic_slsa3.yml`] },
      'IDENTITY_MISMATCH',
    ],
    [
      'older builder ref',
      { builderIds: [`${GENERATOR}/builder_go_slsa3.yml@refs/tags/v1.2.1`] },
      'IDENTITY_MISMATCH',
    ],
    [
      'another repository',
      { sourceRepositories: ['https://github.com/slsa-framework/slsa-github-generator'] },
      'IDENTITY_MISMATCH',
    ],
    [
      'a repository prefix',
      { sourceRepositories: ['https://github.com/slsa-framework/slsa'] },
      'IDENTITY_MISMATCH',
    ],
    [
      'generic build type',
      { buildTypes: ['https://github.com/slsa-framework/slsa-github-generator/generic@v1'] },
      'IDENTITY_MISMATCH',
    ],
    [
      'a max age with no finish time',
      { maxAgeSeconds: 60, maxAgeFrom: 'buildFinished' },
      'EXPIRED',
    ],
  ] as const)('fails on %s', (_name, change, failure) => {
    const { imageDigest, ...conditions } = { imageDigest: digest, ...change };
    expect(failureOf(() => checkAttestation(sig, imageDigest, { ...pass, ...conditions }))).toBe(
      failure,
    );
  });
});

describe('SLSA v1: slsa-github-generator and slsa-verifier statements', () => {
  it('container-based builder: source from externalParameters.source', () => {
    const sig = unsigned(
      payloadOf(
        `${TESTDATA}/gha_container-based/v2.1.0/binary-linux-amd64-workflow_dispatch.intoto.build.slsa`,
      ),
    );
    const conditions: AttestationConditions = {
      predicateTypes: ['https://slsa.dev/provenance/v1'],
      builderIds: [`${GENERATOR}/builder_container-based_slsa3.yml@refs/tags/v2.1.0`],
      sourceRepositories: ['https://github.com/slsa-framework/example-package'],
    };
    expectMetThenBroken(sig, conditions, {
      builderIds: [`${GENERATOR}/builder_container-based_slsa3.yml@refs/tags/v2.0.0`],
    });
  });

  it('delegator: the source is the first resolved dependency', () => {
    const dir = `${TESTDATA}/gha_delegator/v2.1.0`;
    const file = readdirSync(path.join(DATA, dir)).find((f) => f.endsWith('.build.slsa')) as string;
    const sig = unsigned(payloadOf(`${dir}/${file}`));
    const statement = sig.statement as NonNullable<VerifiedSignature['statement']>;
    expect(slsaFacts(statement).sourceUri).toMatch(
      /^git\+https:\/\/github.com\/slsa-framework\/example-package@/,
    );
    const conditions = {
      builderIds: [
        'https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml',
      ],
      sourceRepositories: ['https://github.com/slsa-framework/example-package'],
    };
    expectMetThenBroken(sig, conditions, {
      sourceRepositories: ['https://github.com/slsa-framework/example-trw'],
    });
  });

  it('docker builder statement (v1.0 predicate type) and its build type', () => {
    const sig = unsigned(
      text('slsa-github-generator/internal/builders/docker/testdata/slsa1-provenance.json'),
    );
    const ok = {
      predicateTypes: ['https://slsa.dev/provenance/v1.0'],
      buildTypes: ['https://slsa.dev/container-based-build/v0.1?draft'],
      sourceRepositories: [
        'git+https://github.com/slsa-framework/slsa-github-generator@refs/heads/main',
      ],
    };
    expectMetThenBroken(sig, ok, { buildTypes: ['https://slsa.dev/container-based-build/v0.2'] });
  });

  it('a statement without provenance cannot meet SLSA conditions', () => {
    const vsa = unsigned(
      Buffer.from(
        JSON.parse(text(`${TESTDATA}/vsa/gce/v1/gke-gce-pre.bcid-vsa.jsonl`)).payload,
        'base64',
      ).toString('utf8'),
    );
    const digest = `gce_image_id:${vsa.statement?.subject[0]?.digest.gce_image_id}`;
    expect(failureOf(() => checkAttestation(vsa, digest, {}))).toBe('OK');
    expect(failureOf(() => checkAttestation(vsa, digest, { builderIds: ['x'] }))).toBe(
      'UNSUPPORTED',
    );
  });
});

describe('verified attestations: age from the log time or the build finish time', () => {
  it('the cosign .att container provenance, signed at the Rekor integrated time', () => {
    const layout = `${TESTDATA}/gha_generic_container/v2.1.0/container_workflow_dispatch/blobs/sha256`;
    const manifest = JSON.parse(
      text(`${layout}/21454caf3a160dfbe6359f0501aa8401c6c0f2c7a8b71380ea21f8c4b48b64fe`),
    ) as { layers: CosignLayer[] };
    const layer = manifest.layers[0] as CosignLayer;
    const image = text(
      `${TESTDATA}/gha_generic_container/v2.1.0/container_workflow_dispatch.digest`,
    ).trim();
    const sig = verifyAttestationLayer(
      layer,
      readFileSync(path.join(DATA, layout, layer.digest.replace('sha256:', ''))),
      image,
      {
        trustedRoot: parseTrustedRoot(text('sigstore-root-signing/targets/trusted_root.json')),
        identities: [
          {
            issuer: 'https://token.actions.githubusercontent.com',
            subject: {
              regex: `${GENERATOR.replaceAll('.', '\\.')}/generator_container_slsa3\\.yml@refs/tags/v.*`,
            },
          },
        ],
      },
    );
    const signedAt = new Date(sig.signedAt as string);
    const conditions: AttestationConditions = {
      predicateTypes: ['https://slsa.dev/provenance/v0.2'],
      builderIds: [`${GENERATOR}/generator_container_slsa3.yml`],
      sourceRepositories: ['https://github.com/slsa-framework/example-package'],
      maxAgeSeconds: 3600,
    };
    const later = (s: number) => new Date(signedAt.getTime() + s * 1000);
    expect(failureOf(() => checkAttestation(sig, image, conditions, later(3599)))).toBe('OK');
    expect(failureOf(() => checkAttestation(sig, image, conditions, later(3601)))).toBe('EXPIRED');
    expect(
      failureOf(() => checkAttestation(sig, `sha256:${'1'.repeat(64)}`, conditions, later(1))),
    ).toBe('DIGEST_MISMATCH');
  });

  it('Cloud Build v1 provenance: runDetails finish time and buildConfigSource repository', () => {
    const dir = path.join(DATA, 'slsa-verifier/verifiers/internal/gcb/keys/materials');
    const keys: ReadonlyMap<string, KeyObject> = new Map(
      readdirSync(dir).map((f) => [
        f.replace(/\.key$/, ''),
        createPublicKey(readFileSync(path.join(dir, f))),
      ]),
    );
    const json = text(
      'slsa-verifier/verifiers/internal/gcb/testdata/v1.0-gcloud-container-github.json',
    );
    const imageDigest = JSON.parse(json).image_summary.digest;
    const sig = verifyGcbProvenance(json, { imageDigest, keys });
    const facts = slsaFacts(sig.statement as NonNullable<VerifiedSignature['statement']>);
    expect(facts.buildFinishedOn).toBeDefined();
    const finished = new Date(facts.buildFinishedOn as string);
    const conditions: AttestationConditions = {
      predicateTypes: ['https://slsa.dev/provenance/v1'],
      sourceRepositories: [normalizeSourceUri(facts.sourceUri as string)],
      maxAgeSeconds: 86_400,
      maxAgeFrom: 'buildFinished',
    };
    expect(
      failureOf(() =>
        checkAttestation(sig, imageDigest, conditions, new Date(finished.getTime() + 1000)),
      ),
    ).toBe('OK');
    expect(
      failureOf(() =>
        checkAttestation(sig, imageDigest, conditions, new Date(finished.getTime() + 86_401_000)),
      ),
    ).toBe('EXPIRED');
    // No log entry proves when GCB signed: an age counted from signedAt cannot be measured.
    expect(
      failureOf(() =>
        checkAttestation(sig, imageDigest, { ...conditions, maxAgeFrom: 'signedAt' }),
      ),
    ).toBe('EXPIRED');
  });
});

describe('parseStatement', () => {
  it('refuses subjects that are not objects of digest strings (MALFORMED)', () => {
    const statement = (subject: unknown) =>
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        predicateType: 'https://slsa.dev/provenance/v1',
        subject,
        predicate: {},
      });
    expect(failureOf(() => parseStatement(statement([{ digest: { sha256: 'ab' } }])))).toBe('OK');
    for (const subject of [[null], [{ digest: { sha256: 1 } }], [{ digest: ['ab'] }]])
      expect(failureOf(() => parseStatement(statement(subject)))).toBe('MALFORMED');
  });
});

describe('normalizeSourceUri', () => {
  it.each([
    ['git+https://github.com/o/r@refs/tags/v1', 'https://github.com/o/r'],
    ['https://github.com/o/r.git', 'https://github.com/o/r'],
    ['https://github.com/o/r#sub/dir', 'https://github.com/o/r'],
    ['ssh://git@github.com/o/r', 'ssh://git@github.com/o/r'],
  ])('%s → %s', (uri, normalized) => expect(normalizeSourceUri(uri)).toBe(normalized));
});
