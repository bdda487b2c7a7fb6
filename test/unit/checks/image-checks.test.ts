/**
 * The image checks over images built at test time from real files: Alpine 3.10's real layer
 * (its /etc/passwd), users added by the real `useradd`, the real Debian packages passwd, sudo
 * and mount as dpkg-deb unpacks them (their tar modes), keys made by ssh-keygen and Node, and
 * AWS's documented example credentials. Each image goes through the inventory's own walk with
 * the checks collector, as a scan runs it.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksCollector } from '../../../shared/checks/collect.js';
import { IMAGE_CHECKS } from '../../../shared/checks/definitions.js';
import { type LayerFacts, layerFactsOf } from '../../../shared/checks/facts.js';
import { checkImage, type ImageChecks } from '../../../shared/checks/image.js';
import { sha256Hex } from '../../../shared/checks/secrets.js';
import { DockerArchiveSource } from '../../../shared/image/docker-archive.js';
import { OciLayoutSource } from '../../../shared/image/oci-layout.js';
import type { Image } from '../../../shared/image/types.js';
import { type Inventory, inventoryAndWalk } from '../../../shared/inventory/inventory.js';
import { COLLECTED_FACTS } from '../../../shared/inventory/walk.js';
import { decodeLayerResult, encodeLayerResult } from '../../../shared/layers/cache-format.js';
import { debFile } from '../../support/debs.js';
import { dataDir, PROJECT_ROOT } from '../../support/fixtures.js';
import { LayoutWriter, type TarFile, tarOf } from '../../support/oci.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-checks-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ALPINE = path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz');

/** Alpine 3.10's one real layer, as an uncompressed tar. */
async function alpineLayer(): Promise<Buffer> {
  const dir = path.join(work, 'alpine');
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('tar', ['-xzf', ALPINE, '-C', dir]);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    Layers: string[];
  }[];
  return readFileSync(path.join(dir, manifest[0]?.Layers[0] as string));
}

type ConfigPatch = Partial<NonNullable<Image['config']['config']>> & Record<string, unknown>;

interface Checked {
  readonly image: Image;
  readonly inventory: Inventory;
  readonly facts: LayerFacts;
  readonly run: (config?: ConfigPatch, history?: Image['config']['history']) => ImageChecks;
}

/** An OCI layout of these layers, walked once by the inventory with the checks collector. */
async function built(name: string, layers: readonly Buffer[]): Promise<Checked> {
  const dir = path.join(work, name);
  const w = new LayoutWriter(dir);
  w.finish(w.image({ architecture: 'amd64', layers }), name);
  const image = (await new OciLayoutSource(dir).images()).images[0] as Image;
  const { inventory, walk } = await inventoryAndWalk(image, { collect: checksCollector() });
  const facts = layerFactsOf(walk);
  return {
    image,
    inventory,
    facts,
    run: (config = {}, history = []) =>
      checkImage(
        { ...image, config: { ...image.config, config: { ...config }, history } },
        inventory,
        facts,
      ),
  };
}

const ids = (c: ImageChecks) => c.results.map((r) => r.id);
const HEALTHY = { Healthcheck: { Test: ['CMD', 'true'] } };

describe('effective default user', () => {
  let checked: Checked;
  beforeAll(async () => {
    // Users as useradd writes them into the image's own passwd: `toor` a second name for uid 0
    // (useradd -o -u 0), `app` uid 1000.
    const root = path.join(work, 'users-root');
    execFileSync('mkdir', ['-p', root]);
    const base = await alpineLayer();
    execFileSync('tar', ['-x', '-C', root, 'etc/passwd', 'etc/group', 'etc/shadow'], {
      input: base,
    });
    execFileSync('useradd', ['-R', root, '-o', '-u', '0', '-g', '0', '-M', '-N', 'toor'], {
      stdio: 'ignore',
    });
    execFileSync('useradd', ['-R', root, '-u', '1000', '-M', 'app'], { stdio: 'ignore' });
    const users = await tarOf([
      { path: 'etc/passwd', content: readFileSync(path.join(root, 'etc/passwd')) },
      { path: 'etc/group', content: readFileSync(path.join(root, 'etc/group')) },
    ]);
    checked = await built('users', [base, users]);
  }, 60_000);

  it.each([
    ['', 'no USER'],
    ['root', 'root'],
    ['0', 'USER 0 (Dockle passes it)'],
    ['0:0', 'USER 0:0 (Dockle passes it)'],
    ['0:1000', 'uid 0 with another group'],
    ['toor', 'a name useradd -o gave uid 0 (Dockle passes it)'],
    ['toor:app', 'that name with a group'],
  ])('reports root for USER %j: %s', (user) => {
    const result = checked.run({ User: user, ...HEALTHY });
    expect(ids(result)).toEqual(['BOSUN-IMG-001']);
    expect(result.results[0]?.evidence.configField).toBe('config.User');
  });

  it('names the passwd line that made a name root', () => {
    const [r] = checked.run({ User: 'toor', ...HEALTHY }).results;
    expect(r?.evidence).toMatchObject({ path: 'etc/passwd' });
    expect(r?.evidence.detail).toContain('"toor" has uid 0');
  });

  it.each([['app'], ['1000'], ['1000:0'], ['app:app'], ['65534']])(
    'reports nothing for the non-root USER %j',
    (user) => {
      expect(checked.run({ User: user, ...HEALTHY }).results).toEqual([]);
    },
  );

  it('says a name missing from passwd cannot be resolved, not that it is safe', () => {
    const result = checked.run({ User: 'ghost', ...HEALTHY });
    expect(ids(result)).toEqual(['BOSUN-IMG-002']);
    expect(result.results[0]?.evidence.detail).toContain('not in the image');
  });
});

// AWS's documented example credentials (IAM user guide, "Managing access keys").
const AWS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
// Made here to the rules' shapes (Trivy's github-pat, gitlab-pat, slack-access-token): not tokens
// anyone issued.
const GITHUB = `ghp_${'Bosun0Test1Value2NotIssued3xyzABCD'.padEnd(36, 'q')}`;
const GITLAB = 'glpat-B0sunTestValueNotIssued';
const SLACK = 'xoxb-1234567890-B0sunTestValueNotIssued';
const NPM = 'npm_B0sunTestValue4NotIssuedByAnyRegistry7';
const DOTENV = 'Zq8#vT2!mK9@pL4$wX7&';
const DOCKER_AUTH = Buffer.from('bosun:B0sunTestPassw0rd!').toString('base64');
const PYPI = 'B0sun-Test-Passw0rd-NotReal';

describe('secrets', () => {
  let checked: Checked;
  let planted: string[];
  beforeAll(async () => {
    const pem = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    const keyDir = path.join(work, 'ssh');
    execFileSync('mkdir', ['-p', keyDir]);
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'bosun-test',
      '-f',
      path.join(keyDir, 'id_ed25519'),
    ]);
    const openssh = readFileSync(path.join(keyDir, 'id_ed25519'), 'utf8');
    const serviceAccount = JSON.stringify(
      {
        type: 'service_account',
        project_id: 'bosun-test',
        private_key_id: 'b0b0',
        private_key: pem,
        client_email: 'bosun-test@bosun-test.iam.gserviceaccount.com',
      },
      null,
      2,
    );
    const files: TarFile[] = [
      {
        path: 'root/.aws/credentials',
        content: `[default]\naws_access_key_id = ${AWS_KEY_ID}\naws_secret_access_key = ${AWS_SECRET}\n`,
      },
      { path: 'root/.ssh/id_ed25519', content: openssh, mode: 0o600 },
      {
        path: 'root/.docker/config.json',
        content: JSON.stringify({ auths: { 'registry.example.com': { auth: DOCKER_AUTH } } }),
      },
      { path: 'root/.npmrc', content: `//registry.npmjs.org/:_authToken=${NPM}\n` },
      { path: 'root/.pypirc', content: `[pypi]\nusername = bosun\npassword = ${PYPI}\n` },
      { path: 'app/.env', content: `NODE_ENV=production\nDB_PASSWORD=${DOTENV}\n` },
      { path: 'app/config/settings.yaml', content: `github:\n  token: ${GITHUB}\n` },
      { path: 'app/keys/service-account.json', content: serviceAccount },
      { path: 'app/tls/server.key', content: pem },
    ];
    const secrets = await tarOf(files);
    // The next layer deletes the AWS credentials and the SSH key: they stay in the layer above.
    const cleanup = await tarOf([
      { path: 'root/.aws/.wh.credentials' },
      { path: 'root/.ssh/.wh.id_ed25519' },
    ]);
    checked = await built('secrets', [await alpineLayer(), secrets, cleanup]);
    planted = [
      AWS_KEY_ID,
      AWS_SECRET,
      GITHUB,
      GITLAB,
      SLACK,
      NPM,
      DOTENV,
      DOCKER_AUTH,
      PYPI,
      pem,
      openssh,
      ...pem.split('\n').filter((l) => l.length > 20),
      ...openssh.split('\n').filter((l) => l.length > 20),
    ];
  }, 60_000);

  const fileRules = (c: ImageChecks) =>
    c.results
      .filter((r) => r.id === 'BOSUN-IMG-011')
      .map((r) => `${r.secret?.rule} ${r.evidence.path}`)
      .sort();

  it('finds each rule in the files of a layer, with the layer and the line', () => {
    const result = checked.run(HEALTHY);
    // One result per value: the AWS file's secret key is the file rule's, its key id the text
    // rule's; an OpenSSH key is the private-key rule's (its body hashed).
    expect(fileRules(result)).toEqual([
      'aws-access-key-id root/.aws/credentials',
      'aws-credentials-file root/.aws/credentials',
      'docker-config-auth root/.docker/config.json',
      'dotenv-secret app/.env',
      'gcp-service-account app/keys/service-account.json',
      'github-pat app/config/settings.yaml',
      'npmrc-auth root/.npmrc',
      'private-key app/tls/server.key',
      'private-key root/.ssh/id_ed25519',
      'pypirc-password root/.pypirc',
    ]);
    const github = result.results.find((r) => r.secret?.rule === 'github-pat');
    expect(github?.secret).toEqual({
      rule: 'github-pat',
      location: {
        kind: 'file',
        layer: { index: 1, digest: checked.facts.layers[1]?.digest },
        path: 'app/config/settings.yaml',
        line: 2,
      },
      valueHash: sha256Hex(GITHUB),
    });
    expect(github?.severity).toBe('CRITICAL');
  });

  it('reports a secret that only a deleted file holds, naming the layer that deleted it', () => {
    const aws = checked
      .run(HEALTHY)
      .results.filter((r) => r.evidence.path === 'root/.aws/credentials');
    expect(aws.length).toBeGreaterThan(0);
    for (const r of aws) {
      expect(r.secret?.location).toMatchObject({ kind: 'file', deletedBy: 2 });
      expect(r.evidence.detail).toContain('deleted by layer 2: still in the image');
    }
    // The final filesystem no longer has it: only the layers do.
    expect(checked.facts.tree.get('root/.aws/credentials')).toBeUndefined();
    expect(aws.find((r) => r.secret?.rule === 'aws-credentials-file')?.secret?.valueHash).toBe(
      sha256Hex(AWS_SECRET),
    );
  });

  it('finds secrets in Env, Labels and history, by rule and by a credential-named variable', () => {
    const result = checked.run(
      {
        ...HEALTHY,
        Env: [
          'PATH=/usr/bin',
          `AWS_ACCESS_KEY_ID=${AWS_KEY_ID}`,
          `SLACK_BOT=${SLACK}`,
          'API_TOKEN=Rk3j9Xq2Lm8Vw4Zp',
          `DB_PASSWORD=\${DB_PASSWORD}`,
        ],
        Labels: { 'org.example.deploy-token': GITHUB, 'org.opencontainers.image.title': 'app' },
      },
      [
        {
          created_by: `RUN /bin/sh -c git clone https://oauth2:${GITLAB}@gitlab.example.com/app.git # buildkit`,
        },
      ],
    );
    const config = result.results
      .filter((r) => r.id === 'BOSUN-IMG-010')
      .map((r) => `${r.secret?.rule} ${r.evidence.configField}`);
    expect(config.sort()).toEqual([
      'aws-access-key-id config.Env[1]',
      'env-secret config.Env[3]',
      'github-pat config.Labels["org.example.deploy-token"]',
      'gitlab-pat history[0].created_by',
      'slack-access-token config.Env[2]',
    ]);
  });

  it('never puts a planted value in any result, detail or issue', () => {
    const result = checked.run(
      { Env: [`AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`], Labels: { token: GITHUB } },
      [
        {
          created_by: `RUN /bin/sh -c curl -H "Authorization: Bearer ${GITLAB}" https://example.com/i.sh | sh`,
        },
      ],
    );
    const everything = JSON.stringify({
      result,
      facts: checked.facts.layers.map((l) => l.collected),
    });
    expect(result.results.length).toBeGreaterThan(10);
    for (const value of planted) expect(everything, value.slice(0, 12)).not.toContain(value);
    // The history command that holds a token is not quoted by the curl | sh result either.
    const pipe = result.results.find((r) => r.id === 'BOSUN-IMG-031');
    expect(pipe?.evidence.detail).toBe('a download run by a shell');
  });

  it('keeps the collected hashes through the layer cache format', () => {
    // The layer result as the walk made it: encoded and decoded as the S3 cache stores it.
    const layer = checked.facts.layers[1];
    expect(layer?.collected?.secrets.length).toBeGreaterThan(5);
    const stored = JSON.stringify(layer?.collected);
    const decoded = decodeLayerResult(
      encodeLayerResult({
        entries: [],
        whiteouts: [],
        opaqueDirs: [],
        contents: new Map(),
        facts: new Map([[COLLECTED_FACTS, layer?.collected]]),
        issues: [],
        stats: { compression: 'gzip', compressedBytes: 0, decompressedBytes: 0, entries: 0 },
      }),
    );
    expect(JSON.stringify(decoded?.facts?.get(COLLECTED_FACTS))).toBe(stored);
    for (const value of planted) expect(stored).not.toContain(value);
  });

  it('finds nothing in placeholders, examples, low-entropy words and documentation trees', async () => {
    const quiet = await built('no-secrets', [
      await alpineLayer(),
      await tarOf([
        { path: 'app/.env.example', content: `DB_PASSWORD=changeme\nAPI_TOKEN=<your token>\n` },
        { path: 'app/.env', content: `DB_PASSWORD=\${DB_PASSWORD}\nLOG_LEVEL=info\n` },
        { path: 'app/config.yaml', content: `password: password123\ntoken: \${TOKEN}\n` },
        {
          path: 'usr/share/doc/aws/example.txt',
          content: `aws_secret_access_key = ${AWS_SECRET}\n`,
        },
        {
          path: 'root/.docker/config.json',
          content: JSON.stringify({ auths: {}, credsStore: 'ecr-login' }),
        },
      ]),
    ]);
    const result = quiet.run({
      ...HEALTHY,
      User: '65534',
      Env: ['PATH=/usr/bin', 'PASSWORD_FILE=/run/secrets/db'],
    });
    expect(result.results).toEqual([]);
    expect(result.issues).toEqual([]);
  }, 30_000);

  it('says when a layer was read without the collector (no silent pass)', async () => {
    const plain = await inventoryAndWalk(checked.image);
    const result = checkImage(checked.image, plain.inventory, layerFactsOf(plain.walk));
    expect(result.issues.map((i) => i.location)).toEqual(['layer 0', 'layer 1', 'layer 2']);
  });
});

describe('files', () => {
  /** The .deb's files as dpkg-deb writes them: the package's own tar, modes as Debian ships them. */
  const debLayer = (pkg: string) =>
    execFileSync('dpkg-deb', ['--fsys-tarfile', debFile(pkg)], { maxBuffer: 256 * 1024 * 1024 });

  it('reports the setuid binaries of Debian passwd, sudo and mount, and sudo itself, but not the allowed setgid helpers', async () => {
    const checked = await built('debian-setuid', [
      await alpineLayer(),
      debLayer('passwd'),
      debLayer('sudo'),
      debLayer('mount'),
    ]);
    const result = checked.run({ User: '1000', ...HEALTHY });
    const setuid = result.results
      .filter((r) => r.id === 'BOSUN-IMG-020')
      .map((r) => r.evidence.path)
      .sort();
    expect(setuid).toEqual(
      expect.arrayContaining([
        'bin/mount',
        'bin/umount',
        'usr/bin/chfn',
        'usr/bin/chsh',
        'usr/bin/gpasswd',
        'usr/bin/passwd',
        'usr/bin/sudo',
      ]),
    );
    expect(setuid).not.toContain('usr/bin/chage');
    expect(setuid).not.toContain('usr/bin/expiry');
    const passwd = result.results.find((r) => r.evidence.path === 'usr/bin/passwd');
    expect(passwd?.evidence).toMatchObject({
      layer: { index: 1 },
      detail: 'usr/bin/passwd is setuid (mode 4755)',
    });
    expect(
      result.results.filter((r) => r.id === 'BOSUN-IMG-022').map((r) => r.evidence.path),
    ).toEqual(['usr/bin/sudo']);
    // An allow-list of the operator's replaces the default one.
    const allowed = checkImage(
      {
        ...checked.image,
        config: { ...checked.image.config, config: { User: '1000', ...HEALTHY } },
      },
      checked.inventory,
      checked.facts,
      { setuidAllowList: ['usr/bin/passwd'] },
    );
    expect(allowed.results.map((r) => r.evidence.path)).not.toContain('usr/bin/passwd');
    expect(allowed.results.map((r) => r.evidence.path)).toContain('usr/bin/expiry');
  }, 60_000);

  it('reports world-writable folders without the sticky bit and package caches; the real Alpine base has none', async () => {
    const base = await built('alpine-only', [await alpineLayer()]);
    expect(base.run({ User: '1000', ...HEALTHY }).results).toEqual([]);
    const checked = await built('files', [
      await alpineLayer(),
      await tarOf([
        { path: 'srv/drop', type: 'directory', mode: 0o777 },
        { path: 'srv/shared', type: 'directory', mode: 0o1777 },
        { path: 'var/lib/apt/lists/lock', content: '' },
        { path: 'var/cache/apk/APKINDEX.00740ba1.tar.gz', content: Buffer.alloc(2048, 1) },
        { path: 'root/.cache/pip/http/a/b/c/0123456789abcdef', content: Buffer.alloc(100, 2) },
      ]),
    ]);
    const result = checked.run({ User: '1000', ...HEALTHY });
    expect(result.results.map((r) => `${r.id} ${r.evidence.path}`).sort()).toEqual([
      'BOSUN-IMG-021 srv/drop',
      'BOSUN-IMG-023 root/.cache/pip/http/a/b/c',
      'BOSUN-IMG-023 var/cache/apk',
    ]);
    expect(result.results.find((r) => r.evidence.path === 'var/cache/apk')?.evidence.detail).toBe(
      'apk cache: 1 files, 2048 bytes',
    );
  }, 60_000);
});

describe('config and history', () => {
  let checked: Checked;
  beforeAll(async () => {
    checked = await built('config', [await alpineLayer()]);
  }, 30_000);

  it.each([
    ['ADD https://example.com/app.tar.gz /opt/ # buildkit', 'BOSUN-IMG-030'],
    ['/bin/sh -c #(nop) ADD https://example.com/tool /usr/local/bin/tool', 'BOSUN-IMG-030'],
    ['RUN /bin/sh -c curl -fsSL https://example.com/install.sh | sh # buildkit', 'BOSUN-IMG-031'],
    ['RUN /bin/sh -c wget -qO- https://example.com/i | sudo bash -s -- --yes', 'BOSUN-IMG-031'],
    ['/bin/sh -c sh -c "$(curl -fsSL https://example.com/install.sh)"', 'BOSUN-IMG-031'],
  ])('reports %j', (command, id) => {
    const result = checked.run({ User: '1000', ...HEALTHY }, [{ created_by: command }]);
    expect(ids(result)).toEqual([id]);
    expect(result.results[0]?.evidence.configField).toBe('history[0].created_by');
  });

  it.each([
    [
      '/bin/sh -c #(nop) ADD file:0e0dae0e5ce9a7ce1e2fdc8d2b6d4e6c0d1a0c5e0f8e8e8e8e8e8e8e8e8e8e8e in / ',
    ],
    ['COPY . /app # buildkit'],
    [
      'RUN /bin/sh -c curl -fsSLo /tmp/i.sh https://example.com/i.sh && sha256sum -c /tmp/i.sha256 && sh /tmp/i.sh',
    ],
  ])('reports nothing for %j', (command) => {
    expect(checked.run({ User: '1000', ...HEALTHY }, [{ created_by: command }]).results).toEqual(
      [],
    );
  });

  it('reports a missing or disabled HEALTHCHECK as low', () => {
    for (const config of [{}, { Healthcheck: { Test: ['NONE'] } }]) {
      const [r] = checked.run({ User: '1000', ...config }).results;
      expect(r).toMatchObject({ id: 'BOSUN-IMG-032', severity: 'LOW' });
    }
  });

  it('reports sensitive VOLUMEs only', () => {
    const result = checked.run({
      User: '1000',
      ...HEALTHY,
      Volumes: {
        '/var/run/docker.sock': {},
        '/root/.ssh': {},
        '/data': {},
        '/var/lib/postgresql/data': {},
      },
    });
    expect(result.results.map((r) => r.evidence.detail)).toEqual([
      'VOLUME /var/run/docker.sock',
      'VOLUME /root/.ssh',
    ]);
  });
});

describe('licences', () => {
  it('reports AGPL and SSPL packages, and follows the configured list', async () => {
    const pkg = (name: string, license: string) => ({
      path: `app/node_modules/${name}/package.json`,
      content: JSON.stringify({ name, version: '1.0.0', license }),
    });
    const checked = await built('licences', [
      await alpineLayer(),
      await tarOf([
        pkg('agpl-lib', 'AGPL-3.0-only'),
        pkg('sspl-lib', 'SSPL-1.0'),
        pkg('dual-lib', '(MIT OR AGPL-3.0-or-later)'),
        pkg('mit-lib', 'MIT'),
        pkg('gpl-lib', 'GPL-3.0-only'),
      ]),
    ]);
    const config = {
      ...checked.image,
      config: { ...checked.image.config, config: { User: '1000', ...HEALTHY } },
    };
    const named = (r: ImageChecks) => r.results.map((x) => x.evidence.detail).sort();
    expect(named(checkImage(config, checked.inventory, checked.facts))).toEqual([
      'npm package agpl-lib 1.0.0 is licensed AGPL-3.0-only',
      'npm package dual-lib 1.0.0 is licensed AGPL-3.0-or-later',
      'npm package sspl-lib 1.0.0 is licensed SSPL-1.0',
    ]);
    expect(
      named(
        checkImage(config, checked.inventory, checked.facts, { restrictedLicences: ['GPL-3'] }),
      ),
    ).toEqual(['npm package gpl-lib 1.0.0 is licensed GPL-3.0-only']);
    const agpl = checkImage(config, checked.inventory, checked.facts).results[0];
    expect(agpl?.evidence.layer?.index).toBe(1);
  }, 30_000);
});

describe('docs/checks.md', () => {
  it('lists every image check with its id and severity', () => {
    const doc = readFileSync(path.join(PROJECT_ROOT, 'docs/checks.md'), 'utf8');
    for (const d of Object.values(IMAGE_CHECKS))
      expect(doc, d.id).toMatch(new RegExp(`\\|\\s*\`${d.id}\`\\s*\\|\\s*${d.severity}[^|]*\\|`));
  });
});

// Real Alpine image read as Docker saved it, without a layout: the archive source too.
it('checks an image from a docker save archive', async () => {
  const image = (await new DockerArchiveSource(ALPINE).images()).images[0] as Image;
  const { inventory, walk } = await inventoryAndWalk(image, { collect: checksCollector() });
  const result = checkImage(image, inventory, layerFactsOf(walk));
  expect(ids(result).sort()).toEqual(['BOSUN-IMG-001', 'BOSUN-IMG-032']);
  expect(result.issues).toEqual([]);
});
