/**
 * The provenance configuration: variables validated (one policy source at most, trust material
 * only with a policy), the policy read inline, from S3 (fauxqs, in this process) or from
 * Parameter Store (no local emulator: faked at the SDK client's boundary with GetParameter's
 * documented response), the trust material from S3 as a prefix or a zip, and the short cache.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, ParameterNotFound, type SSMClient } from '@aws-sdk/client-ssm';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZipFile } from 'yazl';
import { ConfigError, loadConfig } from '../../../shared/config/env.js';
import {
  cachedProvenance,
  PROVENANCE_CONFIG,
  ProvenanceConfigError,
  type ProvenanceSettings,
  provenanceSettings,
  readProvenance,
  refreshingChecker,
} from '../../../shared/config/provenance.js';
import { loadTrust, provenanceChecker } from '../../../shared/provenance/check.js';
import { parseProvenancePolicy } from '../../../shared/provenance/policy.js';
import { RegistryClient } from '../../../shared/registry/client.js';
import { dataDir } from '../../support/fixtures.js';

const data = (...parts: string[]) => path.join(dataDir(), 'provenance', ...parts);
const ROOT = data('sigstore-go', 'examples', 'trusted-root-public-good.json');
const STORE = data('notation-go', 'verifier', 'testdata', 'truststore', 'x509');
const STORES = ['ca/valid-trust-store', 'signingAuthority/valid-trust-store'];

// The example of docs/provenance-policy.md, cut to a key and a keyless authority.
const POLICY = `apiVersion: provenance.bosun.dev/v1
authorities:
  release-key:
    key: |
      -----BEGIN PUBLIC KEY-----
      MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEusIAt6EJ3YrTHdg2qkWVS0KuotWQ
      wHDtyaXlq7Nhj8279+1u/l5pZhXJPW8PnGRRLdO5NbsuM6aT7pOcP100uw==
      -----END PUBLIC KEY-----
  github-release:
    keyless:
      trustedRoot: public-good
      identities:
        - issuer: https://token.actions.githubusercontent.com
          subject: https://github.com/my-org/app/.github/workflows/release.yml@refs/tags/v1
default:
  signatures:
    anyOf: [release-key, github-release]
`;
const AUDIT_POLICY = POLICY.replace('authorities:', 'mode: audit\nauthorities:');

const BUCKET = 'bosun-provenance';
let fauxqs: FauxqsServer;
let s3: S3Client;

const put = (key: string, body: string | Uint8Array) =>
  s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));

/** The trust store files as Notation lays them out: `x509/<type>/<name>/<file>`. */
function storeFiles(): [string, Buffer][] {
  return STORES.flatMap((store) =>
    readdirSync(path.join(STORE, store))
      .sort()
      .map((file): [string, Buffer] => [
        `x509/${store}/${file}`,
        readFileSync(path.join(STORE, store, file)),
      ]),
  );
}

async function zipOf(files: [string, Buffer][]): Promise<Buffer> {
  const zip = new ZipFile();
  for (const [name, bytes] of files) zip.addBuffer(bytes, name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A Parameter Store client faked at its boundary: GetParameter's documented response shape. */
function fakeSsm(parameters: Record<string, string>) {
  const calls: GetParameterCommand['input'][] = [];
  const client = {
    async send(command: GetParameterCommand) {
      if (!(command instanceof GetParameterCommand)) throw new Error('unexpected command');
      calls.push(command.input);
      const name = command.input.Name ?? '';
      const value = parameters[name];
      if (value === undefined)
        throw new ParameterNotFound({ message: 'Parameter not found.', $metadata: {} });
      // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html
      return {
        $metadata: { httpStatusCode: 200 },
        Parameter: {
          Name: name,
          Type: 'SecureString',
          Value: value,
          Version: 3,
          LastModifiedDate: new Date('2026-12-01T10:00:00Z'),
          ARN: `arn:aws:ssm:us-east-1:123456789012:parameter${name}`,
          DataType: 'text',
        },
      };
    },
  } as unknown as Pick<SSMClient, 'send'>;
  return { client, calls };
}

beforeAll(async () => {
  fauxqs = await startFauxqs({ port: 0, logger: false });
  fauxqs.createBucket(BUCKET);
  s3 = new S3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${fauxqs.port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await put('roots/public-good.json', readFileSync(ROOT));
  await put('policies/policy.yaml', POLICY);
  for (const [key, bytes] of storeFiles()) await put(`notation/${key}`, bytes);
  await put('notation.zip', await zipOf(storeFiles()));
});

afterAll(async () => {
  s3.destroy();
  await fauxqs.stop();
});

const env = (vars: Record<string, string>) =>
  provenanceSettings(loadConfig(PROVENANCE_CONFIG, vars));

describe('provenance variables', () => {
  it('leave provenance off when no policy is set', () => {
    expect(env({})).toBeUndefined();
  });

  it('read each source, the trusted roots, the trust store and the maximum age', () => {
    expect(
      env({
        BOSUN_PROVENANCE_POLICY_S3: 's3://bosun-provenance/policies/policy.yaml',
        BOSUN_PROVENANCE_TRUSTED_ROOTS: JSON.stringify({
          'public-good': 's3://bosun-provenance/roots/public-good.json',
        }),
        BOSUN_PROVENANCE_NOTATION_TRUST_STORE: 's3://bosun-provenance/notation/',
        BOSUN_PROVENANCE_MAX_AGE_HOURS: '6',
      }),
    ).toEqual({
      policy: { s3: { bucket: BUCKET, key: 'policies/policy.yaml' } },
      trustedRoots: { 'public-good': { bucket: BUCKET, key: 'roots/public-good.json' } },
      notationTrustStore: { bucket: BUCKET, key: 'notation/' },
      maxAgeMs: 6 * 3_600_000,
    });
    expect(env({ BOSUN_PROVENANCE_POLICY_SSM: '/bosun/provenance-policy' })?.policy).toEqual({
      ssmParameter: '/bosun/provenance-policy',
    });
    expect(env({ BOSUN_PROVENANCE_POLICY: POLICY })?.policy).toEqual({ inline: POLICY });
  });

  it('refuse two policy sources, naming both', () => {
    expect(() =>
      env({
        BOSUN_PROVENANCE_POLICY: POLICY,
        BOSUN_PROVENANCE_POLICY_SSM: '/bosun/provenance-policy',
      }),
    ).toThrow(
      new ConfigError([
        'only one provenance policy source may be set, got BOSUN_PROVENANCE_POLICY and BOSUN_PROVENANCE_POLICY_SSM',
      ]),
    );
  });

  it('refuse trust material without a policy: provenance is never off by omission', () => {
    expect(() =>
      env({ BOSUN_PROVENANCE_NOTATION_TRUST_STORE: 's3://bosun-provenance/notation/' }),
    ).toThrow(
      /BOSUN_PROVENANCE_NOTATION_TRUST_STORE is set but no provenance policy is \(BOSUN_PROVENANCE_POLICY, BOSUN_PROVENANCE_POLICY_S3, BOSUN_PROVENANCE_POLICY_SSM\)/,
    );
  });

  it('name each malformed value', () => {
    expect(() =>
      loadConfig(PROVENANCE_CONFIG, {
        BOSUN_PROVENANCE_POLICY_S3: 's3://bosun-provenance/policies/',
        BOSUN_PROVENANCE_POLICY_SSM: 'bosun provenance',
        BOSUN_PROVENANCE_TRUSTED_ROOTS: '["s3://bosun-provenance/roots/public-good.json"]',
        BOSUN_PROVENANCE_NOTATION_TRUST_STORE: 's3://bosun-provenance/notation',
        BOSUN_PROVENANCE_MAX_AGE_HOURS: '0',
      }),
    ).toThrow(
      new ConfigError([
        'BOSUN_PROVENANCE_POLICY_S3="s3://bosun-provenance/policies/" is not valid (an S3 object URI, s3://bucket/key)',
        'BOSUN_PROVENANCE_POLICY_SSM="bosun provenance" is not valid (a Parameter Store parameter name (/bosun/provenance-policy))',
        'BOSUN_PROVENANCE_TRUSTED_ROOTS="[\\"s3://bosun-provenance/roots/public-good.json\\"]" is not valid (a JSON object of trusted root names to s3://bucket/key URIs)',
        'BOSUN_PROVENANCE_NOTATION_TRUST_STORE="s3://bosun-provenance/notation" is not valid (an S3 prefix ending in "/" (s3://bucket/prefix/) or a zip object (.zip))',
        'BOSUN_PROVENANCE_MAX_AGE_HOURS="0" is not valid (a whole number of hours from 1 to 8760)',
      ]),
    );
  });
});

const settings = (overrides: Partial<ProvenanceSettings> = {}): ProvenanceSettings => ({
  policy: { s3: { bucket: BUCKET, key: 'policies/policy.yaml' } },
  trustedRoots: { 'public-good': { bucket: BUCKET, key: 'roots/public-good.json' } },
  notationTrustStore: { bucket: BUCKET, key: 'notation/' },
  ...overrides,
});

/** The trust material as read from the shared data directly. */
const expectedTrust = () =>
  loadTrust({
    sigstoreRoots: { 'public-good': readFileSync(ROOT, 'utf8') },
    notationStores: Object.fromEntries(
      STORES.map((store) => [
        store.replace('/', ':'),
        storeFiles()
          .filter(([name]) => name.startsWith(`x509/${store}/`))
          .map(([, bytes]) => bytes),
      ]),
    ),
  });

describe('readProvenance', () => {
  it('reads the policy and the trust material from S3, to the versions the files have', async () => {
    const loaded = await readProvenance(settings(), { s3 });
    expect(loaded.policy).toEqual(parseProvenancePolicy(POLICY, 'ignored'));
    expect(loaded.trust.version).toBe(expectedTrust().version);
    expect(Object.keys(loaded.trust.trust.sigstoreRoots ?? {})).toEqual(['public-good']);
    expect(
      loaded.trust.trust.notationTrustStore?.get('signingAuthority', 'valid-trust-store'),
    ).toHaveLength(3);
  });

  it('reads a trust store from one zip as from its prefix (a CDK asset of a folder)', async () => {
    const zipped = await readProvenance(
      settings({ notationTrustStore: { bucket: BUCKET, key: 'notation.zip' } }),
      { s3 },
    );
    expect(zipped.trust.version).toBe(expectedTrust().version);
  });

  it('reads a SecureString policy from Parameter Store, decrypted', async () => {
    const ssm = fakeSsm({ '/bosun/provenance-policy': AUDIT_POLICY });
    const loaded = await readProvenance(
      settings({ policy: { ssmParameter: '/bosun/provenance-policy' } }),
      { s3, ssm: ssm.client },
    );
    expect(loaded.policy.mode).toBe('audit');
    expect(ssm.calls).toEqual([{ Name: '/bosun/provenance-policy', WithDecryption: true }]);
  });

  it('fails, naming the object, when the policy or a root cannot be read', async () => {
    await expect(
      readProvenance(settings({ policy: { s3: { bucket: BUCKET, key: 'policies/gone.yaml' } } }), {
        s3,
      }),
    ).rejects.toThrow(
      expect.objectContaining({
        name: 'ProvenanceConfigError',
        message: expect.stringMatching(
          /^s3:\/\/bosun-provenance\/policies\/gone\.yaml could not be read: /,
        ),
      }),
    );
    await expect(
      readProvenance(
        settings({ trustedRoots: { staging: { bucket: BUCKET, key: 'roots/staging.json' } } }),
        { s3 },
      ),
    ).rejects.toThrow(/s3:\/\/bosun-provenance\/roots\/staging\.json could not be read/);
    await expect(
      readProvenance(settings({ policy: { ssmParameter: '/bosun/missing' } }), {
        s3,
        ssm: fakeSsm({}).client,
      }),
    ).rejects.toThrow(
      new ProvenanceConfigError('parameter /bosun/missing could not be read: Parameter not found.'),
    );
  });

  it("fails with the parser's message on a policy that is not one", async () => {
    await expect(
      readProvenance(settings({ policy: { inline: 'apiVersion: provenance.bosun.dev/v1\n' } }), {
        s3,
      }),
    ).rejects.toThrow(/^BOSUN_PROVENANCE_POLICY: /);
    await expect(
      readProvenance(settings({ policy: { inline: '{ not: yaml' } }), { s3 }),
    ).rejects.toThrow(/BOSUN_PROVENANCE_POLICY: not YAML/);
  });

  it('fails on a trusted root with one byte changed, and on a file that holds no certificate', async () => {
    const root = readFileSync(ROOT, 'utf8');
    // A character of the first base64 certificate that is not base64.
    const at = root.indexOf('"rawBytes": "') + '"rawBytes": "'.length + 10;
    await put('roots/tampered.json', `${root.slice(0, at)}!${root.slice(at + 1)}`);
    await expect(
      readProvenance(
        settings({
          trustedRoots: { 'public-good': { bucket: BUCKET, key: 'roots/tampered.json' } },
        }),
        { s3 },
      ),
    ).rejects.toThrow(/^provenance trust material: .*trusted root public-good/);

    await put(
      'broken-store/x509/ca/invalid/invalid',
      readFileSync(path.join(STORE, 'ca', 'trust-store-with-invalid-certs', 'invalid')),
    );
    await expect(
      readProvenance(settings({ notationTrustStore: { bucket: BUCKET, key: 'broken-store/' } }), {
        s3,
      }),
    ).rejects.toThrow(/trust store ca:invalid file 1 holds no valid certificate/);
    await put(
      'odd-store/x509/root/acme/root.pem',
      readFileSync(path.join(STORE, STORES[0] as string, 'NotationTestRoot.pem')),
    );
    await expect(
      readProvenance(settings({ notationTrustStore: { bucket: BUCKET, key: 'odd-store/' } }), {
        s3,
      }),
    ).rejects.toThrow(
      /"x509\/root\/acme\/root\.pem" is not under x509\/ca, x509\/signingAuthority or x509\/tsa/,
    );
    await expect(
      readProvenance(settings({ notationTrustStore: { bucket: BUCKET, key: 'empty/' } }), { s3 }),
    ).rejects.toThrow(/s3:\/\/bosun-provenance\/empty\/ holds no trust store/);
  });
});

describe('cachedProvenance', () => {
  it('reads again after its maximum age, or at once when asked, and forgets a failed read', async () => {
    let now = 0;
    const key = 'policies/cached.yaml';
    await put(key, POLICY);
    const load = cachedProvenance(
      settings({ policy: { s3: { bucket: BUCKET, key } }, notationTrustStore: undefined }),
      { s3 },
      { maxAgeMs: 60_000, now: () => now },
    );
    const first = await load();
    await put(key, AUDIT_POLICY);
    now = 59_999;
    expect(await load()).toBe(first);
    now = 60_000;
    const second = await load();
    expect(second.policy.mode).toBe('audit');
    expect(second.policy.version).not.toBe(first.policy.version);

    await put(key, POLICY);
    expect((await load(true)).policy.version).toBe(first.policy.version);

    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    await expect(load(true)).rejects.toThrow(ProvenanceConfigError);
    await put(key, AUDIT_POLICY);
    // Not the failure again: the next call reads.
    expect((await load()).policy.version).toBe(second.policy.version);
  });
});

describe('refreshingChecker', () => {
  let registry: Server;
  let host: string;
  beforeAll(async () => {
    // A registry that holds no signature: every manifest and referrers list is unknown.
    registry = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'unknown' }] }));
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => registry.close(() => resolve())));

  it('checks with the material read last, and names its versions after the check', async () => {
    const key = 'policies/refreshing.yaml';
    await put(key, POLICY);
    const load = cachedProvenance(
      settings({ policy: { s3: { bucket: BUCKET, key } } }),
      { s3 },
      { maxAgeMs: 0 },
    );
    const client = new RegistryClient();
    const checker = refreshingChecker(load, await load(), (loaded) =>
      provenanceChecker({ policy: loaded.policy, trust: loaded.trust, registry: client }),
    );
    const digest = `sha256:${'a'.repeat(64)}`;
    const before = checker.policy.version;
    expect((await checker.check(host, 'app', digest)).policyVersion).toBe(before);

    await put(key, AUDIT_POLICY);
    const verdict = await checker.check(host, 'app', digest);
    expect(verdict).toMatchObject({ status: 'UNSIGNED', mode: 'audit' });
    expect(verdict.policyVersion).not.toBe(before);
    expect(checker.policy.version).toBe(verdict.policyVersion);
    expect(checker.trustVersion).toBe(expectedTrust().version);
  });
});
