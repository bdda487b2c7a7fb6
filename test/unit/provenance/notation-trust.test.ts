import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadTrustStoreDir,
  NotationTrustPolicyError,
  parseDistinguishedName,
  parseTrustPolicy,
  selectBlobPolicy,
  selectOciPolicy,
  VERIFICATION_LEVELS,
} from '../../../shared/provenance/notation-trust.js';
import { dataDir } from '../../support/fixtures.js';

const E2E = path.join(dataDir(), 'provenance', 'notation/test/e2e/testdata');
const POLICIES = path.join(E2E, 'config/trustpolicies');

/**
 * Every trust policy of Notation's e2e suite, with what the suite (test/e2e/suite/trustpolicy,
 * Go, not copied) or notation-go's validation expects: `valid`, or the words of the error.
 */
const EXPECTED: Readonly<Record<string, { kind?: 'blob'; error?: string }>> = {
  'any_registry_scope_trust_policy.json': {},
  'audit_trustpolicy.json': {},
  'blob_trust_policy.json': { kind: 'blob' },
  'empty_registry_scope_trustpolicy.json': {
    error: 'trust policy statement "e2e" has zero registry scopes',
  },
  'empty_trusted_identity_trustpolicy.json': {
    error: 'trust policy statement "e2e" has an empty trusted identity',
  },
  'generate_test_trustpolicy.json': {},
  'invalid_format_trustpolicy.json': { error: 'malformed trust policy' },
  'invalid_registry_scope_trustpolicy.json': {},
  'invalid_trust_store_trustpolicy.json': {},
  'invalid_trusted_identity_trustpolicy.json': {},
  'malformed_registry_scope_trustpolicy.json': {
    error: 'registry scope "localhost:5000\\\\test-repo" is not valid',
  },
  'malformed_trust_store_trustpolicy.json': {
    error:
      'trust policy statement "e2e" uses an unsupported trust store name "" in trust store value "ca:". Named store name needs to follow [a-zA-Z0-9_.-]+ format',
  },
  'malformed_trusted_identity_trustpolicy.json': {
    error:
      'trust policy statement "e2e" has trusted identity "x509.subject CN=e2e,O=Notary,L=Seattle,ST=WA,C=US" missing separator',
  },
  'missing_country_trusted_identity_trustpolicy.json': {
    error: 'has no mandatory RDN attribute for "C"',
  },
  'missing_organization_trusted_identity_trustpolicy.json': {
    error: 'has no mandatory RDN attribute for "O"',
  },
  'missing_state_trusted_identity_trustpolicy.json': {
    error: 'has no mandatory RDN attribute for "ST"',
  },
  'multi_statements_with_multi_wildcard_registry_scope_trustpolicy.json': {
    error: 'registry scope "*" is present in multiple oci trust policy statements',
  },
  'multi_statements_with_the_same_name_trustpolicy.json': {
    error: 'multiple oci trust policy statements use the same name "e2e"',
  },
  'multi_statements_with_the_same_registry_scope_trustpolicy.json': {
    error:
      'registry scope "localhost:5000/test-repo8" is present in multiple oci trust policy statements',
  },
  'multi_statements_with_wildcard_registry_scope_trustpolicy.json': {},
  'multiple_registry_scope_trustpolicy.json': {},
  'multiple_trust_store_trustpolicy.json': {},
  'multiple_trusted_identity_trustpolicy.json': {},
  'overlapped_registry_scope_trustpolicy.json': {
    error:
      'registry scope "localhost:5000/test-repo6" is present in multiple oci trust policy statements',
  },
  // notation-go does not reject a repeated store (the e2e case is skipped: "were not checked").
  'overlapped_trust_store_trustpolicy.json': {},
  'overlapped_trusted_identity_trustpolicy.json': {
    error: 'trust policy statement "e2e" has overlapping x509 trustedIdentities',
  },
  'override_audit_trustpolicy.json': {},
  'override_integrity_for_permissive_trustpolicy.json': {
    error: '"integrity" verification can not be overridden',
  },
  'override_permissive_trustpolicy.json': {},
  'override_strict_trustpolicy.json': {},
  'permissive_trustpolicy.json': {},
  'quickstart_trustpolicy.json': {},
  'registry_scope_trustpolicy.json': {},
  'skip_trustpolicy.json': {},
  'timestamp_after_cert_expiry_trustpolicy.json': {},
  'timestamp_trustpolicy.json': {},
  'trustpolicy.json': {},
  'unset_trust_store_trustpolicy.json': {
    error:
      'trust policy statement "e2e" is either missing trust stores or trusted identities, both must be specified',
  },
  'unset_trusted_identity_trustpolicy.json': {
    error:
      'trust policy statement "e2e" is either missing trust stores or trusted identities, both must be specified',
  },
  'valid_trusted_identity_trustpolicy.json': {},
  'wildcard_plus_other_registry_scope_trustpolicy.json': {
    error:
      "uses wildcard registry scope '*', a wildcard scope cannot be used in conjunction with other scope values",
  },
  'wildcard_plus_other_trusted_identity_trustpolicy.json': {
    error:
      'trust policy statement "e2e" uses a wildcard trusted identity \'*\', a wildcard identity cannot be used in conjunction with other values',
  },
  'wildcard_trust_store_trustpolicy.json': {
    error:
      'trust policy statement "e2e" has malformed trust store value "*". The required format is <TrustStoreType>:<TrustStoreName>',
  },
};

const read = (file: string) => readFileSync(path.join(POLICIES, file), 'utf8');
const DIGEST = '@sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9';

describe("Notation's e2e trust policies", () => {
  it('the table covers every policy file of the data (43)', () => {
    expect(readdirSync(POLICIES).sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(Object.keys(EXPECTED)).toHaveLength(43);
  });

  it.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    const parse = () => parseTrustPolicy(read(file), expected.kind ?? 'oci');
    if (expected.error === undefined) {
      const doc = parse();
      expect(doc.statements.length).toBeGreaterThan(0);
      for (const s of doc.statements) expect(s.enforcement).toBeDefined();
    } else {
      expect(parse).toThrow(NotationTrustPolicyError);
      expect(parse).toThrow(expected.error);
    }
  });

  it('levels and overrides resolve to the specification table', () => {
    const level = (file: string) => parseTrustPolicy(read(file), 'oci').statements[0];
    expect(level('trustpolicy.json')?.enforcement).toEqual(VERIFICATION_LEVELS.strict);
    expect(level('permissive_trustpolicy.json')?.enforcement.expiry).toBe('log');
    expect(level('audit_trustpolicy.json')?.enforcement.authenticity).toBe('log');
    expect(level('skip_trustpolicy.json')?.level).toBe('skip');
    expect(level('override_strict_trustpolicy.json')?.enforcement).toEqual({
      integrity: 'enforce',
      authenticity: 'log',
      authenticTimestamp: 'log',
      expiry: 'log',
      revocation: 'log',
    });
    expect(level('override_audit_trustpolicy.json')?.enforcement).toEqual(
      VERIFICATION_LEVELS.strict,
    );
    expect(level('timestamp_after_cert_expiry_trustpolicy.json')?.verifyTimestamp).toBe(
      'afterCertExpiry',
    );
    expect(level('timestamp_trustpolicy.json')?.trustStores).toEqual([
      { type: 'ca', name: 'e2e' },
      { type: 'tsa', name: 'e2e' },
    ]);
  });

  it('registryScopes: an exact scope wins over the global one; no scope, no policy', () => {
    const doc = parseTrustPolicy(
      read('multi_statements_with_wildcard_registry_scope_trustpolicy.json'),
      'oci',
    );
    expect(selectOciPolicy(doc, `localhost:5000/test-repo9${DIGEST}`).name).toBe('e2e');
    expect(selectOciPolicy(doc, `localhost:5000/other${DIGEST}`).name).toBe('e2e2');
    const scoped = parseTrustPolicy(read('invalid_registry_scope_trustpolicy.json'), 'oci');
    expect(() => selectOciPolicy(scoped, `localhost:5000/test-repo${DIGEST}`)).toThrow(
      'has no applicable oci trust policy statement',
    );
    expect(() => selectOciPolicy(scoped, 'localhost:5000/test-repo:v1')).toThrow(
      'could not be parsed',
    );
  });

  it('blob policies are chosen by name, or the global one', () => {
    const doc = parseTrustPolicy(
      readFileSync(path.join(E2E, 'blob/trustpolicies/trustpolicy.blob.json'), 'utf8'),
      'blob',
    );
    expect(selectBlobPolicy(doc).name).toBe('test-blob-global-statement');
    expect(selectBlobPolicy(doc, 'test-blob-with-timestamping').verifyTimestamp).toBe('always');
    expect(() => selectBlobPolicy(doc, 'absent')).toThrow(
      'no applicable blob trust policy with name "absent"',
    );
    const config = parseTrustPolicy(read('blob_trust_policy.json'), 'blob');
    expect(selectBlobPolicy(config).name).toBe('global-verification-policy');
    expect(selectBlobPolicy(config, 'skip-verification-policy').level).toBe('skip');
  });

  it('DNs: escapes decode, S is ST, duplicates are refused', () => {
    expect(parseDistinguishedName('C=US, S=WA, O=wabbit\\, inc, CN=a\\;b')).toEqual(
      new Map([
        ['C', 'US'],
        ['ST', 'WA'],
        ['O', 'wabbit, inc'],
        ['CN', 'a;b'],
      ]),
    );
    expect(() => parseDistinguishedName('C=US,ST=WA,O=a,O=b')).toThrow(
      'duplicate RDN attribute for "O"',
    );
  });
});

describe("notation-go's trust store directories", () => {
  const store = loadTrustStoreDir(
    path.join(dataDir(), 'provenance', 'notation-go/verifier/testdata/truststore'),
  );

  it('reads PEM and DER files of a named store', () => {
    expect(store.get('ca', 'valid-trust-store').map((c) => c.subject.split('\n').at(-1))).toEqual([
      'CN=GlobalSign',
      'CN=GlobalSign',
      'CN=Notation Test Root',
      'CN=alpine', // TestTimestamp.crt
      'CN=testTSA', // TestTimestampNotYetValid.crt
      'CN=wabbit-networks.io',
    ]);
    expect(store.get('signingAuthority', 'valid-trust-store')).toHaveLength(3);
    expect(store.get('tsa', 'test-timestamp')).toHaveLength(1);
  });

  it('refuses invalid files, leaf certificates and non-root TSA certificates; an absent store is an error', () => {
    expect(() => store.get('ca', 'trust-store-with-invalid-certs')).toThrow(
      'holds no valid certificate',
    );
    expect(() => store.get('ca', 'trust-store-with-leaf-certs')).toThrow(
      'is not a CA certificate or a self-signed signing certificate',
    );
    expect(() => store.get('tsa', 'test-nonCA')).toThrow('is not a root CA certificate');
    expect(() => store.get('tsa', 'test-nonSelfIssued')).toThrow('is not a root CA certificate');
    expect(() => store.get('ca', 'invalid_store')).toThrow('does not exist');
  });
});
