/**
 * The package as users install it: the README's Install commands run as written (`npm pack`,
 * `npm install --global` into a prefix of the test's own, offline, `bosun --version`), then
 * the same tarball installed by npm into a new CommonJS CDK app from `cdk init`
 * (scripts/packed-app.ts). The app type-checks and synthesizes the ImageScanner with the
 * handlers the package ships; an ES module imports the same construct; the installed `bosun`
 * runs with no TypeScript tooling.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_CDK_ENV, type PackedApp, packAndInstall } from '../../scripts/packed-app.js';
import { ANALYZER_VERSION } from '../../shared/pipeline/scan/run.js';
import { BOSUN_VERSION } from '../../shared/version.js';
import { dataDir, PROJECT_ROOT } from '../support/fixtures.js';
import { asScript, readmeBlock } from '../support/readme.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-package-'));
const env = { ...process.env, ...OFFLINE_CDK_ENV };
const prefix = path.join(work, 'global');
let packed: PackedApp;
let readme: ReturnType<typeof spawnSync>;

beforeAll(() => {
  readme = spawnSync('bash', ['-c', asScript(readmeBlock('test/infra/package.test.ts'))], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    // `npm install --global` into the test's own prefix, whose bin/ is first on the PATH.
    env: {
      ...env,
      npm_config_prefix: prefix,
      npm_config_offline: 'true',
      PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}`,
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  // `npm pack` wrote the tarball into the checkout: move it out before anything else runs.
  const tarball = path.join(work, `bosun-${BOSUN_VERSION}.tgz`);
  if (existsSync(path.join(PROJECT_ROOT, path.basename(tarball))))
    renameSync(path.join(PROJECT_ROOT, path.basename(tarball)), tarball);
  packed = packAndInstall(work, tarball);
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the README's Install commands", () => {
  it('pack, install globally with no dependency to download, and run bosun', () => {
    expect(readme.status, String(readme.stderr)).toBe(0);
    expect(String(readme.stdout)).toContain(
      `bosun ${BOSUN_VERSION} (analyzer ${ANALYZER_VERSION})`,
    );
    expect(existsSync(path.join(prefix, 'lib/node_modules/bosun/dist/cli/bosun.mjs'))).toBe(true);
    // The CDK is an optional peer: a CLI install does not bring it.
    expect(existsSync(path.join(prefix, 'lib/node_modules/aws-cdk-lib'))).toBe(false);
  });
});

describe('the packed package', () => {
  it('ships the built CLI, handlers, construct and declarations, and no TypeScript source', () => {
    const listing = execFileSync('tar', ['-tzf', packed.tarball], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('package/dist/cli/bosun.mjs');
    for (const fn of ['scan', 'rescan', 'feed-sync', 'registry-webhook'])
      expect(listing).toContain(`package/dist/lambda/${fn}/index.mjs`);
    for (const file of ['index.mjs', 'index.cjs'])
      expect(listing).toContain(`package/dist/infra/${file}`);
    expect(listing).toContain('package/dist/types/infra/index.d.ts');
    expect(listing).toContain('package/dist/types-cjs/infra/index.d.ts');
    expect(listing).toContain('package/dist/THIRD-PARTY-NOTICES.txt');
    expect(listing.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    const manifest = JSON.parse(
      readFileSync(path.join(packed.app, 'node_modules/bosun/package.json'), 'utf8'),
    ) as { dependencies?: unknown; peerDependencies: Record<string, string> };
    // Everything it runs is bundled; the CDK is the app's own.
    expect(manifest.dependencies).toBeUndefined();
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(listing.some((f) => f.startsWith('package/node_modules/'))).toBe(false);
  });

  it('type-checks and synthesizes a CommonJS CDK app using ImageScanner, offline', () => {
    const stack = readdirSync(path.join(packed.app, 'lib')).find((f) => f.endsWith('-stack.ts'));
    expect(stack).toBeDefined();
    const file = path.join(packed.app, 'lib', stack ?? '');
    const source = readFileSync(file, 'utf8');
    const className = /export class (\w+)/.exec(source)?.[1] ?? 'AppStack';
    writeFileSync(
      file,
      [
        "import * as cdk from 'aws-cdk-lib/core';",
        "import { Construct } from 'constructs';",
        "import { ImageScanner, type ImageScannerProps } from 'bosun';",
        '',
        `export class ${className} extends cdk.Stack {`,
        '  constructor(scope: Construct, id: string, props?: cdk.StackProps) {',
        '    super(scope, id, props);',
        '    const settings: ImageScannerProps = {',
        "      repositories: ['team-a/*'],",
        "      webhookRegistries: ['registry.example.com'],",
        '    };',
        "    const scanner = new ImageScanner(this, 'Scanner', settings);",
        "    new cdk.CfnOutput(this, 'FindingsTopic', { value: scanner.findingsTopic.topicArn });",
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    // A wrong prop is a type error: the declarations reach the app, not `any`.
    const typo = path.join(packed.app, 'lib', 'typo.ts');
    writeFileSync(
      typo,
      "import type { ImageScannerProps } from 'bosun';\nexport const p: ImageScannerProps = { repositorys: [] };\n",
    );
    const tsc = path.join(packed.app, 'node_modules/.bin/tsc');
    const failing = spawnSync(tsc, ['-p', packed.app], { encoding: 'utf8' });
    expect(failing.stdout).toMatch(/typo\.ts.*'repositorys' does not exist/);
    rmSync(typo);
    const checked = spawnSync(tsc, ['-p', packed.app], { encoding: 'utf8' });
    expect(checked.status, checked.stdout).toBe(0);

    const synth = spawnSync(
      path.join(packed.app, 'node_modules/.bin/cdk'),
      ['synth', '--quiet', '--no-notices', '--no-version-reporting'],
      { cwd: packed.app, env, encoding: 'utf8' },
    );
    expect(synth.status, synth.stderr).toBe(0);
    const out = path.join(packed.app, 'cdk.out');
    const templateFile = readdirSync(out).find((f) => f.endsWith('.template.json')) ?? '';
    const template = JSON.parse(readFileSync(path.join(out, templateFile), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const functions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    // Scan, rescan, feed sync, backfill, audit, the read API and (with webhookRegistries) the
    // registry webhook.
    expect(functions).toHaveLength(7);
    for (const fn of functions) {
      expect(fn.Properties.Handler).toBe('index.handler');
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
    }
    // Each function's asset is the package's prebuilt handler, not a bundle made at synth.
    const assets = readdirSync(out).filter((f) => f.startsWith('asset.'));
    expect(assets).toHaveLength(7);
    for (const asset of assets)
      expect(readdirSync(path.join(out, asset)).sort()).toEqual(['index.mjs', 'index.mjs.map']);
  }, 180_000);

  it('is imported by an ES module app too', () => {
    const script = path.join(packed.app, 'esm-app.mjs');
    writeFileSync(
      script,
      [
        "import { App, Stack } from 'aws-cdk-lib';",
        "import { ImageScanner } from 'bosun';",
        'const app = new App({ outdir: process.argv[2] });',
        "const scanner = new ImageScanner(new Stack(app, 'Esm'), 'Scanner');",
        'app.synth();',
        'console.log(scanner.node.path);',
        '',
      ].join('\n'),
    );
    const outdir = path.join(work, 'esm-out');
    const run = spawnSync(process.execPath, [script, outdir], {
      cwd: packed.app,
      env,
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('Esm/Scanner');
    expect(existsSync(path.join(outdir, 'Esm.template.json'))).toBe(true);
  }, 120_000);

  it('runs bosun --version and bosun scan from the install, with no tsx or TypeScript', () => {
    // The installed package has no TypeScript source for tsx to run: the bundle answers.
    expect(existsSync(path.join(packed.app, 'node_modules/bosun/cli'))).toBe(false);
    const version = spawnSync(packed.bin, ['--version'], { env, encoding: 'utf8' });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout).toBe(`bosun ${BOSUN_VERSION} (analyzer ${ANALYZER_VERSION})\n`);

    const archive = path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz');
    const secdb = path.join(dataDir(), 'advisories/alpine-secdb-legacy/v3.10');
    const scan = spawnSync(
      packed.bin,
      [
        'scan',
        archive,
        '--advisories',
        secdb,
        '--format',
        'json',
        '--cache-dir',
        path.join(work, 'cache'),
      ],
      { env, encoding: 'utf8' },
    );
    expect(scan.status, scan.stderr).toBe(0);
    const report = JSON.parse(scan.stdout) as {
      images: { os: { prettyName: string }; packages: number; coverage: { complete: boolean } }[];
    };
    expect(report.images[0]?.os.prettyName).toBe('Alpine Linux v3.10');
    expect(report.images[0]?.packages).toBe(14);
    expect(report.images[0]?.coverage.complete).toBe(true);
  }, 60_000);
});
