/**
 * The provenance policy: the example policies of docs/provenance-policy.md against both the
 * JSON Schema (docs/provenance-policy.schema.json) and the zod parser, which must agree; rule
 * selection by repository glob; the policy version (a content hash).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  type ProvenancePolicy,
  ProvenancePolicyError,
  parseProvenancePolicy,
  repositoryMatches,
  selectRule,
} from '../../../shared/provenance/policy.js';

const DOCS = path.join(import.meta.dirname, '../../../docs');
const schema = JSON.parse(readFileSync(path.join(DOCS, 'provenance-policy.schema.json'), 'utf8'));
const ajv = new Ajv2020.default({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

/** Every ```yaml block of the doc, with its first-line marker (`# invalid:`, `# semantic:`). */
const EXAMPLES = [
  ...readFileSync(path.join(DOCS, 'provenance-policy.md'), 'utf8').matchAll(
    /```yaml\n([\s\S]*?)```/g,
  ),
].map((m, i) => {
  const text = m[1] as string;
  const kind = /^# (invalid|semantic):/.exec(text)?.[1] ?? 'valid';
  return { name: `example ${i + 1}: ${text.split('\n')[0]}`, text, kind };
});

function parses(text: string): string {
  try {
    parseProvenancePolicy(text);
    return 'accepted';
  } catch (error) {
    if (error instanceof ProvenancePolicyError) return 'rejected';
    throw error;
  }
}

describe('docs/provenance-policy.md examples: schema and parser agree', () => {
  it('has valid, invalid and schema-blind examples', () => {
    expect(EXAMPLES.filter((e) => e.kind === 'valid')).toHaveLength(4);
    expect(EXAMPLES.filter((e) => e.kind === 'invalid')).toHaveLength(5);
    expect(EXAMPLES.filter((e) => e.kind === 'semantic')).toHaveLength(2);
  });

  it.each(EXAMPLES.map((e) => [e.name, e] as const))('%s', (_name, example) => {
    const schemaSays = validate(parseYaml(example.text)) ? 'accepted' : 'rejected';
    const parserSays = parses(example.text);
    expect(parserSays).toBe(example.kind === 'valid' ? 'accepted' : 'rejected');
    // The schema cannot compare fields nor compile regexes: only there may it accept.
    expect(schemaSays).toBe(example.kind === 'invalid' ? 'rejected' : 'accepted');
  });
});

const POLICY = `
apiVersion: provenance.bosun.dev/v1
authorities:
  ci:
    keyless:
      trustedRoot: public-good
      identities:
        - issuer: https://token.actions.githubusercontent.com
          subject: { regex: "https://github\\\\.com/org/.*" }
rules:
  - name: team
    repositories: ["registry.example.com/team/*"]
    mode: audit
    signatures: ci
  - repositories: ["registry.example.com/**", "docker.io/library/?ginx"]
    attestations:
      - predicateType: https://slsa.dev/provenance/v1
        authorities: [ci]
default:
  signatures: { anyOf: [ci] }
`;

describe('rules and repositories', () => {
  const policy = parseProvenancePolicy(POLICY);

  it.each([
    ['registry.example.com/team/*', 'registry.example.com/team/app', true],
    ['registry.example.com/team/*', 'registry.example.com/team/app/sub', false],
    ['registry.example.com/team/*', 'registry.example.com/team-evil/app', false],
    ['registry.example.com/team/*', 'registry.example.com/team/', true],
    ['registry.example.com/**', 'registry.example.com/a/b/c', true],
    ['registry.example.com/**', 'registry.example.com.evil/a', false],
    ['registry.example.com/team', 'registry.example.com/team/app', false],
    ['registry.example.com:5000/*', 'registry.example.com:5000/app', true],
    ['docker.io/library/?ginx', 'docker.io/library/nginx', true],
    ['docker.io/library/?ginx', 'docker.io/library/ginx', false],
    ['a.b/c', 'aXb/c', false],
  ])('%s ~ %s: %s', (glob, repository, expected) => {
    expect(repositoryMatches(glob, repository)).toBe(expected);
  });

  it('the first matching rule applies, then the default', () => {
    const pick = (repo: string) => selectRule(policy, repo);
    expect(pick('registry.example.com/team/app')).toMatchObject({ name: 'team', mode: 'audit' });
    expect(pick('registry.example.com/team/app/x')).toMatchObject({
      name: 'rules[1]',
      mode: 'enforce',
    });
    expect(pick('docker.io/library/nginx').name).toBe('rules[1]');
    expect(pick('quay.io/org/app')).toMatchObject({ name: 'default', mode: 'enforce' });
  });
});

describe('policy version', () => {
  const version = (text: string): string => parseProvenancePolicy(text).version;

  it('is a content hash: the same policy written otherwise has the same version', () => {
    const reordered = JSON.stringify(
      Object.fromEntries(Object.entries(parseYaml(POLICY) as object).reverse()),
    );
    expect(version(POLICY)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(version(reordered)).toBe(version(POLICY));
    // `mode: enforce` is the default: saying it changes nothing.
    expect(version(POLICY.replace('authorities:', 'mode: enforce\nauthorities:'))).toBe(
      version(POLICY),
    );
  });

  it('changes with anything that changes a verdict', () => {
    expect(version(POLICY.replace('mode: audit', 'mode: enforce'))).not.toBe(version(POLICY));
    expect(version(POLICY.replace('org/', 'org2/'))).not.toBe(version(POLICY));
  });
});

describe('errors name the offending value', () => {
  it.each([
    ['not: [yaml', /not YAML/],
    [POLICY.replace('trustedRoot: public-good', 'trustedRoot: "has space"'), /keyless/],
    [POLICY.replace('signatures: ci', 'signatures: nobody'), /rules\.0\.signatures.*"nobody"/],
    [POLICY.replace('authorities: [ci]', 'authorities: [x]'), /unknown authority "x"/],
    [
      POLICY.replace('{ anyOf: [ci] }', '{ threshold: 2, of: [ci] }'),
      /threshold is more than the authorities/,
    ],
    [POLICY.replace('{ anyOf: [ci] }', '{ threshold: 1, of: [ci, ci] }'), /listed twice/],
    [POLICY.replace('provenance.bosun.dev/v1', 'v2'), /apiVersion/],
  ])('%#', (text, message) => {
    expect(() => parseProvenancePolicy(text)).toThrow(ProvenancePolicyError);
    expect(() => parseProvenancePolicy(text)).toThrow(message);
  });

  it('a key authority must hold a public key', () => {
    const bad = `
apiVersion: provenance.bosun.dev/v1
authorities:
  k: { key: "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----" }
default: { signatures: k }
`;
    expect(() => parseProvenancePolicy(bad)).toThrow(/authorities\.k.*/);
  });

  it('keeps what it validated', () => {
    const policy: ProvenancePolicy = parseProvenancePolicy(POLICY);
    expect(policy.rules[1]?.attestations[0]).toEqual({
      predicateType: 'https://slsa.dev/provenance/v1',
      authorities: ['ci'],
    });
    expect(policy.default.signatures).toEqual({ anyOf: ['ci'] });
    expect(policy.authorities.ci).toEqual({
      keyless: {
        trustedRoot: 'public-good',
        identities: [
          {
            issuer: 'https://token.actions.githubusercontent.com',
            subject: { regex: 'https://github\\.com/org/.*' },
          },
        ],
      },
    });
  });
});
