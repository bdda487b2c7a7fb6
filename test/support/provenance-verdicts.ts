/**
 * Real provenance verdicts for tests of what stores and announces them: verifyImage on
 * connaisseur's cosign `.sig` manifest of its test image, signed with alice's key (shared data,
 * `provenance/connaisseur`), under a policy parsed from YAML. Nothing is signed here; a tampered
 * signature flips one bit of the real payload in memory.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseProvenancePolicy } from '../../shared/provenance/policy.js';
import type { DiscoveredArtifact } from '../../shared/provenance/types.js';
import type { Verdict } from '../../shared/provenance/verdict.js';
import { verifyImage } from '../../shared/provenance/verify-image.js';
import { dataDir } from './fixtures.js';

const COSIGN = path.join(dataDir(), 'provenance/connaisseur/test/testdata/cosign');
const TESTIMAGE = path.join(COSIGN, 'securesystemsengineering/testimage');
/** The image connaisseur's `.sig` signs with alice's key alone. */
export const SIGNED = 'sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81';
export const REGISTRY = '127.0.0.1:5000';
/** The default rule: alice signs (enforce). */
export const REPO = `${REGISTRY}/team/app`;
/** Rule `bob-signs`: bob signs, so alice's signature is UNTRUSTED. */
export const REPO_BOB = `${REGISTRY}/team/bob`;
/** Rule `audit-alice`: alice signs, in audit mode. */
export const REPO_AUDIT = `${REGISTRY}/team/audit`;

export const sha256 = (bytes: Uint8Array) =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const key = (name: string) =>
  JSON.stringify(readFileSync(path.join(COSIGN, `${name}.key`), 'utf8'));

export const POLICY = parseProvenancePolicy(`
apiVersion: provenance.bosun.dev/v1
authorities:
  alice: { key: ${key('alice')} }
  bob: { key: ${key('bob')} }
rules:
  - name: bob-signs
    repositories: [${REPO_BOB}]
    signatures: bob
  - name: audit-alice
    repositories: [${REPO_AUDIT}]
    mode: audit
    signatures: alice
default:
  signatures: alice
`);
/** A trust version as loadTrust computes one (keys only: no root or trust store). */
export const TRUST_VERSION = `sha256:${'7'.repeat(64)}`;

type Descriptor = DiscoveredArtifact['layers'][number]['descriptor'];

/** The `.sig` of SIGNED as discovery returns it; `tamper` flips one bit of its payload. */
export function signatureOf(tamper = false): DiscoveredArtifact {
  const manifestBytes = readFileSync(
    path.join(TESTIMAGE, 'manifests', `${SIGNED.replace(':', '-')}.sig.json`),
  );
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
    config: { mediaType: string };
    layers: Descriptor[];
  };
  return {
    subject: SIGNED,
    via: 'cosign-tag',
    digest: sha256(manifestBytes),
    artifactType: manifest.config.mediaType,
    manifest,
    manifestBytes,
    layers: manifest.layers.map((descriptor, i) => {
      const bytes = readFileSync(path.join(TESTIMAGE, 'blobs', `${descriptor.digest}.json`));
      if (tamper && i === 0) bytes[10] = (bytes[10] as number) ^ 1;
      return { descriptor, bytes };
    }),
  };
}

/**
 * The verdict on SIGNED as pushed to `repository`: with its real signature, the signature
 * tampered with (INVALID), or none found (UNSIGNED).
 */
export function verdictOn(
  repository: string,
  signature: 'signed' | 'tampered' | 'none' = 'signed',
): Promise<Verdict> {
  const found = signature === 'none' ? [] : [signatureOf(signature === 'tampered')];
  return verifyImage(SIGNED, found, POLICY, {}, { repository });
}
