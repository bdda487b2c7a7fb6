/**
 * `bosun scan` of an image in a registry that demands a password, with the credentials found
 * where `docker pull` finds them (shared/registry/docker-config.ts, cliCredentials): the CLI runs
 * as a user runs it, against a real docker-registry on loopback with htpasswd auth.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bosunWith } from '../../support/cli.js';
import { alpine34Rootfs, dataDir, PROJECT_ROOT } from '../../support/fixtures.js';
import { filesUnder, LayoutWriter, pushLayout, tarOf } from '../../support/oci.js';
import { startPasswordRegistry, type TestRegistry } from '../../support/registry.js';

const USERNAME = 'team-robot';
const PASSWORD = 'not-a-real-secret';
const work = mkdtempSync(path.join(tmpdir(), 'bosun-cli-registry-credentials-'));
/** Holds no .docker and no config.json: a HOME or DOCKER_CONFIG with no credentials. */
const empty = path.join(work, 'empty');
let registry: TestRegistry;
let image: string;

beforeAll(async () => {
  mkdirSync(empty);
  registry = await startPasswordRegistry(path.join(work, 'registry'), USERNAME, PASSWORD);
  const layout = path.join(work, 'layout');
  const writer = new LayoutWriter(layout);
  const rootfs = alpine34Rootfs(work);
  writer.finish(
    writer.image({ architecture: 'amd64', layers: [await tarOf(filesUnder(rootfs))] }),
    'app',
  );
  image = `${registry.host}/team/app:1`;
  pushLayout(layout, 'app', image, { creds: `${USERNAME}:${PASSWORD}` });
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A DOCKER_CONFIG folder holding `config` as its config.json. */
function dockerConfig(name: string, config: unknown): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/**
 * `bosun scan <image>` as JSON. BOSUN_REGISTRY_* would answer before Docker's configuration
 * (and a developer's own could be set), so they are removed; HOME is a folder without
 * ~/.docker, so only what the test gives is found. --no-cache: every layer is pulled with the
 * credentials under test, never read from a cache an earlier test filled.
 */
function scan(env: Record<string, string | undefined>) {
  return bosunWith(
    {
      env: {
        BOSUN_REGISTRY_USERNAME: undefined,
        BOSUN_REGISTRY_PASSWORD: undefined,
        DOCKER_AUTH_CONFIG: undefined,
        HOME: empty,
        ...env,
      },
    },
    'scan',
    image,
    '--advisories',
    path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.4'),
    '--format',
    'json',
    '--no-cache',
  );
}

interface Report {
  images: { packages: number; findings: { id: string; package: string }[] }[];
}

/** The report's findings of one package, as `id package`. */
function findingsOf(stdout: string, pkg: string): string[] {
  const report = JSON.parse(stdout) as Report;
  return (report.images[0]?.findings ?? [])
    .filter((f) => f.package === pkg)
    .map((f) => `${f.id} ${f.package}`);
}

// v3.4/main.yaml fixes CVE-2016-8859 and CVE-2017-15650 in musl after the 1.1.14-r10 that the
// real Alpine 3.4 database holds (test/unit/cli/scan.test.ts reads the same rootfs).
const MUSL = ['CVE-2016-8859 musl', 'CVE-2017-15650 musl'];

describe('bosun scan of a registry that demands a password', () => {
  it('logs in with the auths entry of $DOCKER_CONFIG/config.json and finds the Alpine vulnerabilities', () => {
    const config = dockerConfig('auths', {
      auths: {
        [registry.host]: { auth: Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64') },
      },
    });
    const out = scan({ DOCKER_CONFIG: config });
    expect(out.status, out.stderr).toBe(0);
    expect((JSON.parse(out.stdout) as Report).images[0]?.packages).toBe(15);
    expect(findingsOf(out.stdout, 'musl')).toEqual(MUSL);
  }, 60_000);

  it('exits 3 naming the refused authentication when no credentials are configured anywhere', () => {
    // No BOSUN_REGISTRY_*, no config.json under DOCKER_CONFIG or HOME; a loopback host is not
    // ECR, so nothing asks AWS either: the pull is anonymous and the registry answers 401.
    const out = scan({ DOCKER_CONFIG: empty });
    expect(out.status).toBe(3);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain(
      `the registry asks for a password and none is configured for ${registry.host}`,
    );
  }, 60_000);

  it('asks the credential helper that credHelpers names for the host, found on the PATH given', () => {
    // docker-credential-vault is test/support/credential-helper.mjs, answering from `keychain`
    // and logging each call: the log proves the password came from the helper.
    const bin = path.join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(
      path.join(PROJECT_ROOT, 'test/support/credential-helper.mjs'),
      path.join(bin, 'docker-credential-vault'),
    );
    const keychain = path.join(work, 'keychain.json');
    writeFileSync(
      keychain,
      JSON.stringify({ vault: { [registry.host]: { Username: USERNAME, Secret: PASSWORD } } }),
    );
    const log = path.join(work, 'helper.log');
    const config = dockerConfig('cred-helpers', { credHelpers: { [registry.host]: 'vault' } });
    const out = scan({
      DOCKER_CONFIG: config,
      // The helper's own interpreter (node) is the only other program on this PATH.
      PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}`,
      BOSUN_TEST_HELPER_STORE: keychain,
      BOSUN_TEST_HELPER_LOG: log,
    });
    expect(out.status, out.stderr).toBe(0);
    expect(findingsOf(out.stdout, 'musl')).toEqual(MUSL);
    // Asked once for the host however many requests the pull made (docker-config.ts caches it).
    expect(readFileSync(log, 'utf8')).toBe(`vault get ${JSON.stringify(registry.host)}\n`);
  }, 60_000);
});
