/**
 * `bosun verify <image> --policy FILE` and `bosun scan --policy FILE` (cli/verify.ts), run as a
 * user runs them against a registry served from this process (an OCI layout through the
 * distribution API, no referrers API: cosign's tag scheme). The signatures are made here at test
 * time as `cosign sign --key` makes them (cosign/specs/SIGNATURE_SPEC.md: the simple-signing
 * payload, signed with ECDSA P-256 over SHA-256, in a `sha256-<hex>.sig` manifest), with a key
 * the policy names and with another one. Every run records the connections the CLI made
 * (test/support/network-log.mjs): verification reaches the registry and nothing else.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notationStoresOf } from '../../../cli/verify.js';
import { freePort } from '../../../scripts/local/services.js';
import { loadTrust } from '../../../shared/provenance/check.js';
import { parseProvenancePolicy } from '../../../shared/provenance/policy.js';
import {
  cosignConfig,
  OCI_INDEX,
  OCI_MANIFEST,
  SIMPLE_SIGNING,
  simpleSigning,
} from '../../support/cosign.js';
import { dataDir, PROJECT_ROOT } from '../../support/fixtures.js';
import { type Descriptor, derivedFiles, LayoutWriter, tarOf } from '../../support/oci.js';
import { type LayoutRegistry, startLayoutRegistry } from '../../support/registry.js';

const NETWORK_LOG = pathToFileURL(path.join(PROJECT_ROOT, 'test/support/network-log.mjs')).href;
const ALPINE_310 = () => path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.10');
const PUBLIC_GOOD = () =>
  path.join(dataDir(), 'provenance/sigstore-root-signing/targets/trusted_root.json');
const NOTATION_STORES = () =>
  path.join(dataDir(), 'provenance/notation-go/verifier/testdata/truststore');

const work = mkdtempSync(path.join(tmpdir(), 'bosun-cli-verify-'));
/** A DOCKER_CONFIG with no credentials: the runs are anonymous whatever this machine has. */
const dockerConfig = path.join(work, 'docker');
const release = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();

let registry: LayoutRegistry;
let layoutDir: string;
let images: Record<'unsigned' | 'signed' | 'other', Descriptor>;
let runs = 0;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** `tcp host:port` and `dns name` lines: what the process connected to or looked up. */
  network: string[];
}

/** The CLI in a child process, awaited without blocking the registry this process serves. */
function bosun(...args: string[]): Promise<Run> {
  const log = path.join(work, `network-${++runs}.log`);
  writeFileSync(log, '');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_CONFIG: dockerConfig,
    NODE_OPTIONS: `--import ${NETWORK_LOG}`,
    BOSUN_TEST_NETWORK_LOG: log,
  };
  delete env.BOSUN_REGISTRY_USERNAME;
  delete env.BOSUN_REGISTRY_PASSWORD;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/bosun.ts', ...args], {
      cwd: PROJECT_ROOT,
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => {
      const network = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      resolve({ status, stdout, stderr, network });
    });
  });
}

/** Connections and look-ups other than `tcp <host>` (all, without a host). IPC is no network. */
const elsewhere = (run: Run, host?: string) =>
  run.network.filter((l) => l !== `tcp ${host}` && !l.startsWith('ipc '));

/** A cosign `.sig` manifest for `digest` in the layout, signed with `key` as `cosign sign --key` signs. */
function cosignSignature(
  w: LayoutWriter,
  reference: string,
  digest: string,
  key: KeyObject,
): Descriptor {
  const { payload, signature } = simpleSigning(reference, digest, key);
  const layer = w.blob(payload, SIMPLE_SIGNING);
  const config = w.blob(cosignConfig([layer.digest]), 'application/vnd.oci.image.config.v1+json');
  return w.jsonBlob(
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: [{ ...layer, annotations: { 'dev.cosignproject.cosign/signature': signature } }],
    },
    OCI_MANIFEST,
  );
}

/** Writes a policy (JSON is YAML) and returns its path. */
function policyFile(name: string, policy: unknown): string {
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(file, typeof policy === 'string' ? policy : JSON.stringify(policy, null, 2));
  return file;
}

let policy: string;

beforeAll(async () => {
  mkdirSync(dockerConfig);
  layoutDir = path.join(work, 'layout');
  const w = new LayoutWriter(layoutDir);
  const base = await tarOf(derivedFiles('alpine-310'));
  const image = async (name: string) =>
    w.image({
      architecture: 'amd64',
      layers: [base, await tarOf([{ path: 'etc/bosun-test', content: name }])],
    });
  images = {
    unsigned: await image('unsigned'),
    signed: await image('signed'),
    other: await image('other'),
  };
  registry = await startLayoutRegistry(layoutDir);
  const refs: Record<string, Descriptor> = {
    ...images,
    [`sha256-${images.signed.digest.slice(7)}.sig`]: cosignSignature(
      w,
      `${registry.host}/team/app`,
      images.signed.digest,
      release.privateKey,
    ),
    [`sha256-${images.other.digest.slice(7)}.sig`]: cosignSignature(
      w,
      `${registry.host}/team/app`,
      images.other.digest,
      stranger.privateKey,
    ),
  };
  writeFileSync(
    path.join(layoutDir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: Object.entries(refs).map(([ref, d]) => ({
        mediaType: d.mediaType,
        digest: d.digest,
        size: d.size,
        annotations: { 'org.opencontainers.image.ref.name': ref },
      })),
    }),
  );
  policy = policyFile('policy', {
    apiVersion: 'provenance.bosun.dev/v1',
    authorities: { release: { key: pem(release.publicKey) } },
    rules: [
      {
        name: 'audited',
        repositories: [`${registry.host}/audit/**`],
        mode: 'audit',
        signatures: 'release',
      },
    ],
    default: { signatures: 'release' },
  });
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('bosun verify', { timeout: 60_000 }, () => {
  it('exits 1 UNSIGNED for an image with no signature, and reports the digest its tag names', async () => {
    const run = await bosun(
      'verify',
      `${registry.host}/team/app:unsigned`,
      '--policy',
      policy,
      '-q',
    );
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toContain(`${registry.host}/team/app:unsigned\n`);
    expect(run.stdout).toContain('provenance: UNSIGNED (rule mode enforce: this fails)');
    expect(run.stdout).toContain(`image:    ${registry.host}/team/app@${images.unsigned.digest}`);
    expect(run.stdout).toContain(`no signature or attestation found for ${images.unsigned.digest}`);
    expect(run.stdout).toContain('UNMET release');
    // It looked where cosign puts signatures, and asked nothing of anyone else.
    expect(registry.requests.map((r) => r.url)).toContain(
      `/v2/team/app/manifests/sha256-${images.unsigned.digest.slice(7)}.sig`,
    );
    expect(run.network).toContain(`tcp ${registry.host}`);
    expect(elsewhere(run, registry.host)).toEqual([]);
  });

  it("exits 0 VERIFIED for an image signed with the policy's key, naming what satisfied it", async () => {
    const run = await bosun('verify', `${registry.host}/team/app:signed`, '--policy', policy, '-q');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('provenance: VERIFIED\n');
    expect(run.stdout).toContain(`${registry.host}/team/app@${images.signed.digest}`);
    expect(run.stdout).toMatch(
      /MET {3}release\n {10}by sha256:[0-9a-f]{64}#0 \(release, trust root key:sha256:[0-9a-f]{64}\)/,
    );
    expect(elsewhere(run, registry.host)).toEqual([]);
  });

  it('verifies a digest reference as it verifies the tag', async () => {
    const run = await bosun(
      'verify',
      `${registry.host}/team/app@${images.signed.digest}`,
      '--policy',
      policy,
      '-q',
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('provenance: VERIFIED');
  });

  it('exits 1 UNTRUSTED for an image signed with another key', async () => {
    const run = await bosun('verify', `${registry.host}/team/app:other`, '--policy', policy, '-q');
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toContain('provenance: UNTRUSTED (rule mode enforce: this fails)');
    expect(run.stdout).toMatch(
      /failures:\n {4}- sha256:[0-9a-f]{64}#0 \(release\): UNTRUSTED: not signed by this key/,
    );
    expect(elsewhere(run, registry.host)).toEqual([]);
  });

  it('exits 0 under an audit rule, and says the verdict is reported, not enforced', async () => {
    const run = await bosun(
      'verify',
      `${registry.host}/audit/app:unsigned`,
      '--policy',
      policy,
      '-q',
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('provenance: UNSIGNED (rule mode audit: reported, not enforced)');
    expect(run.stdout).toContain('rule:     audited (mode audit)');
  });

  it('prints the verdict as JSON: digest, outcome, requirements and what satisfied them', async () => {
    const signed = await bosun(
      'verify',
      `${registry.host}/team/app:signed`,
      '--policy',
      policy,
      '--format',
      'json',
      '-q',
    );
    expect(signed.status, signed.stderr).toBe(0);
    const report = JSON.parse(signed.stdout);
    expect(report).toMatchObject({
      image: `${registry.host}/team/app:signed`,
      repository: `${registry.host}/team/app`,
      digest: images.signed.digest,
      outcome: 'pass',
      trustVersion: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      verdict: {
        subjectDigest: images.signed.digest,
        status: 'VERIFIED',
        mode: 'enforce',
        rule: 'default',
        reasons: [],
        failures: [],
        requirements: [{ requirement: 'release', met: true }],
      },
    });
    const [by] = report.verdict.requirements[0].satisfiedBy;
    expect(by.authority).toBe('release');
    expect(by.source).toMatch(/^sha256:[0-9a-f]{64}#0$/);
    expect(by.trustRoot).toMatch(/^key:sha256:[0-9a-f]{64}$/);
    expect(Date.parse(report.checkedAt)).toBeGreaterThan(Date.now() - 600_000);

    const other = await bosun(
      'verify',
      `${registry.host}/team/app:other`,
      '--policy',
      policy,
      '--format',
      'json',
    );
    expect(other.status).toBe(1);
    const failed = JSON.parse(other.stdout);
    expect(failed.outcome).toBe('fail');
    expect(failed.verdict.status).toBe('UNTRUSTED');
    expect(failed.verdict.failures).toEqual([
      expect.objectContaining({ authority: 'release', failure: 'UNTRUSTED' }),
    ]);
    expect(failed.verdict.policyVersion).toBe(report.verdict.policyVersion);
  });

  it("exits 2 with the policy's own message for a policy the parser refuses, or no policy at all", async () => {
    const bad = policyFile('bad', {
      apiVersion: 'provenance.bosun.dev/v1',
      authorities: {},
      default: { signatures: 'nobody' },
    });
    const run = await bosun('verify', `${registry.host}/team/app:signed`, '--policy', bad);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`bosun: ${bad}: default.signatures: unknown authority "nobody"`);
    expect(run.stderr).toContain("Try 'bosun verify --help'.");
    // A usage error reads nothing from the registry.
    expect(elsewhere(run)).toEqual([]);

    const missing = await bosun(
      'verify',
      `${registry.host}/team/app:signed`,
      '--policy',
      path.join(work, 'absent.yaml'),
    );
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--policy');
    expect(missing.stderr).toContain('ENOENT');

    const none = await bosun('verify', `${registry.host}/team/app:signed`);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('--policy FILE is required');
  });

  it('exits 2 for a local image: signatures live in the registry', async () => {
    for (const local of [layoutDir, `oci:${layoutDir}:signed`]) {
      const run = await bosun('verify', local, '--policy', policy);
      expect(run.status, local).toBe(2);
      expect(run.stderr).toContain(
        `names a local file or folder; signatures are read from the image's registry`,
      );
    }
  });

  it('exits 3 when the registry cannot be reached, having tried only the registry', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    const run = await bosun('verify', `${closed}/team/app:signed`, '--policy', policy, '-q');
    expect(run.status).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^bosun: .*127\.0\.0\.1/);
    expect(run.network).toContain(`tcp ${closed}`);
    expect(elsewhere(run, closed)).toEqual([]);
  }, 30_000);

  it('takes Sigstore trusted roots by the names the policy gives them, and refuses a missing one', async () => {
    const keyless = policyFile('keyless', {
      apiVersion: 'provenance.bosun.dev/v1',
      authorities: {
        ci: {
          keyless: {
            trustedRoot: 'public-good',
            identities: [
              {
                issuer: 'https://token.actions.githubusercontent.com',
                subject: { regex: 'https://github\\.com/acme/.*' },
              },
            ],
          },
        },
      },
      default: { signatures: 'ci' },
    });
    const image = `${registry.host}/team/app:unsigned`;
    const without = await bosun('verify', image, '--policy', keyless);
    expect(without.status).toBe(2);
    expect(without.stderr).toContain(
      'authority ci of rule default names trusted root public-good: give it with --trusted-root public-good=FILE',
    );
    const notARoot = await bosun(
      'verify',
      image,
      '--policy',
      keyless,
      '--trusted-root',
      `public-good=${policy}`,
    );
    expect(notARoot.status).toBe(2);
    const given = await bosun(
      'verify',
      image,
      '--policy',
      keyless,
      '--trusted-root',
      `public-good=${PUBLIC_GOOD()}`,
      '-q',
    );
    expect(given.status, given.stderr).toBe(1);
    expect(given.stdout).toContain('provenance: UNSIGNED');
    // The production root names Fulcio, Rekor and CT hosts: none of them is asked anything.
    expect(elsewhere(given, registry.host)).toEqual([]);
    const twice = await bosun(
      'verify',
      image,
      '--policy',
      keyless,
      '--trusted-root',
      `public-good=${PUBLIC_GOOD()}`,
      '--trusted-root',
      `public-good=${PUBLIC_GOOD()}`,
    );
    expect(twice.status).toBe(2);
    expect(twice.stderr).toContain('--trusted-root public-good is given twice');
  });

  it("takes Notation trust stores in notation's folder layout, and refuses a store the rule names and the folder lacks", async () => {
    const notation = (store: string) =>
      policyFile(`notation-${store}`, {
        apiVersion: 'provenance.bosun.dev/v1',
        authorities: {
          wabbit: { notation: { trustStores: [`ca:${store}`], trustedIdentities: ['*'] } },
        },
        default: { signatures: 'wabbit' },
      });
    const image = `${registry.host}/team/app:unsigned`;
    const given = await bosun(
      'verify',
      image,
      '--policy',
      notation('valid-trust-store'),
      '--notation-trust-store',
      NOTATION_STORES(),
      '-q',
    );
    expect(given.status, given.stderr).toBe(1);
    expect(given.stdout).toContain('provenance: UNSIGNED');
    const absent = await bosun(
      'verify',
      image,
      '--policy',
      notation('no-such-store'),
      '--notation-trust-store',
      NOTATION_STORES(),
    );
    expect(absent.status).toBe(2);
    expect(absent.stderr).toContain('names trust store ca:no-such-store');
  });
});

describe('notationStoresOf', () => {
  it("reads only the stores the policy names, as notation's trust store does", () => {
    const stores = notationStoresOf(NOTATION_STORES(), [
      'ca:valid-trust-store-2',
      'signingAuthority:valid-trust-store',
      'ca:absent',
    ]);
    const x509 = path.join(NOTATION_STORES(), 'x509');
    expect(Object.keys(stores)).toEqual([
      'ca:valid-trust-store-2',
      'signingAuthority:valid-trust-store',
    ]);
    expect(stores['ca:valid-trust-store-2']).toEqual([
      readFileSync(path.join(x509, 'ca/valid-trust-store-2/GlobalSign.der')),
      readFileSync(path.join(x509, 'ca/valid-trust-store-2/GlobalSignRootCA.crt')),
    ]);
    // The files are what loadTrust versions and parses: DER and PEM alike.
    const loaded = loadTrust({ notationStores: stores });
    expect(loaded.trust.notationTrustStore?.get('ca', 'valid-trust-store-2')).toHaveLength(2);
    // A store of the folder the policy does not name, broken or not, changes nothing.
    expect(
      loadTrust({ notationStores: notationStoresOf(NOTATION_STORES(), ['ca:valid-trust-store-2']) })
        .version,
    ).toBe(
      loadTrust({
        notationStores: {
          'ca:valid-trust-store-2': stores['ca:valid-trust-store-2'] as Uint8Array[],
        },
      }).version,
    );
  });

  it('refuses a folder without x509/, and a store that is a symlink', async () => {
    const { symlinkSync } = await import('node:fs');
    expect(() => notationStoresOf(work, ['ca:x'])).toThrow(/no x509 folder/);
    const linked = path.join(work, 'linked-store');
    mkdirSync(path.join(linked, 'x509', 'ca'), { recursive: true });
    symlinkSync(
      path.join(NOTATION_STORES(), 'x509/ca/valid-trust-store-2'),
      path.join(linked, 'x509/ca/acme'),
    );
    expect(() => notationStoresOf(linked, ['ca:acme'])).toThrow(/is a symlink/);
  });
});

describe('bosun scan --policy', { timeout: 90_000 }, () => {
  it('adds the verdict to the table and to the JSON report', async () => {
    const table = await bosun(
      'scan',
      `${registry.host}/team/app:signed`,
      '--advisories',
      ALPINE_310(),
      '--policy',
      policy,
      '--no-cache',
      '-q',
    );
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/Alpine Linux v3\.10, 14 packages, \d+ findings/);
    expect(table.stdout).toContain('\nprovenance: VERIFIED\n');
    expect(table.stdout).toContain(`${registry.host}/team/app@${images.signed.digest}`);
    expect(elsewhere(table, registry.host)).toEqual([]);

    const json = await bosun(
      'scan',
      `${registry.host}/team/app:other`,
      '--advisories',
      ALPINE_310(),
      '--policy',
      policy,
      '--format',
      'json',
      '--no-cache',
      '-q',
    );
    // An enforced verdict other than VERIFIED fails the scan as --fail-on does.
    expect(json.status, json.stderr).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.images[0].manifestDigest).toBe(images.other.digest);
    expect(report.provenance).toMatchObject({
      digest: images.other.digest,
      outcome: 'fail',
      verdict: { status: 'UNTRUSTED', mode: 'enforce', rule: 'default' },
    });
  });

  it('states the verdict in SARIF and CycloneDX', async () => {
    const sarif = await bosun(
      'scan',
      `${registry.host}/team/app:other`,
      '--advisories',
      ALPINE_310(),
      '--policy',
      policy,
      '--format',
      'sarif',
      '--no-cache',
      '-q',
    );
    expect(sarif.status).toBe(1);
    const [run] = JSON.parse(sarif.stdout).runs;
    expect(run.properties.provenance).toMatchObject({
      digest: images.other.digest,
      status: 'UNTRUSTED',
      mode: 'enforce',
    });
    expect(run.invocations[0].toolExecutionNotifications).toContainEqual(
      expect.objectContaining({ level: 'error', descriptor: { id: 'provenance/UNTRUSTED' } }),
    );

    const audit = await bosun(
      'scan',
      `${registry.host}/audit/app:unsigned`,
      '--advisories',
      ALPINE_310(),
      '--policy',
      policy,
      '--format',
      'cyclonedx',
      '--no-cache',
      '-q',
    );
    // Under an audit rule the verdict is reported and the scan is not failed for it.
    expect(audit.status, audit.stderr).toBe(0);
    const properties = JSON.parse(audit.stdout).metadata.properties as {
      name: string;
      value: string;
    }[];
    expect(properties).toContainEqual({
      name: 'bosun:provenance',
      value: `${registry.host}/audit/app UNSIGNED (audit)`,
    });
  });

  it('is a usage error with a local source, a format that cannot carry it, or trust flags alone', async () => {
    const local = await bosun('scan', layoutDir, '--advisories', ALPINE_310(), '--policy', policy);
    expect(local.status).toBe(2);
    expect(local.stderr).toContain('names a local file or folder');
    const spdx = await bosun(
      'scan',
      `${registry.host}/team/app:signed`,
      '--advisories',
      ALPINE_310(),
      '--policy',
      policy,
      '--format',
      'spdx',
    );
    expect(spdx.status).toBe(2);
    expect(spdx.stderr).toContain(
      'only table, json, sarif and cyclonedx carry the provenance verdict',
    );
    const stray = await bosun('scan', layoutDir, '--advisories', ALPINE_310(), '--crl', policy);
    expect(stray.status).toBe(2);
    expect(stray.stderr).toContain('--crl is trust material for --policy FILE');
  });
});

describe('the policies the user documentation shows', () => {
  it('parse: docs/provenance.md and the README\'s "Verify provenance" section', () => {
    const docs = readFileSync(path.join(PROJECT_ROOT, 'docs/provenance.md'), 'utf8');
    const yaml = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Verify provenance'));
    const heredoc = /cat > provenance\.yaml <<'EOF'\n([\s\S]*?)\nEOF\n/.exec(section)?.[1];
    expect(yaml).toHaveLength(1);
    expect(heredoc).toBeDefined();
    const full = parseProvenancePolicy(yaml[0] as string, 'docs/provenance.md');
    expect(full.rules.map((r) => `${r.name} ${r.mode}`)).toEqual([
      'platform enforce',
      'vendor audit',
    ]);
    expect(full.rules[0]?.signatures).toEqual({
      threshold: 2,
      of: ['release-key', 'security-key', 'github-release'],
    });
    const short = parseProvenancePolicy(heredoc as string, 'README.md');
    expect(short.default.signatures).toBe('release-key');
  });
});
