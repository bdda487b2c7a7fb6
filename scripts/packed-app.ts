/**
 * The package as a user gets it: `npm pack` (which builds dist/ through `prepack`), then a new
 * CDK app made by `cdk init app --language typescript` (CommonJS, as it makes it) in a folder
 * outside the checkout, with the tarball installed into it by npm, offline. The app's other
 * dependencies (aws-cdk-lib, constructs, the CDK CLI, TypeScript, tsx, Node's types) are linked
 * from this checkout's node_modules, at the versions it pins, so nothing is downloaded; the
 * app's jest setup is left out, as no test of the app runs.
 * Used by test/infra/package.test.ts and bench/cli.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** No telemetry, notices or version checks: nothing may reach the internet. */
export const OFFLINE_CDK_ENV = {
  CDK_DISABLE_VERSION_CHECK: '1',
  CDK_DISABLE_CLI_TELEMETRY: '1',
  npm_config_update_notifier: 'false',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
} as const;

export interface PackedApp {
  /** The packed tarball. */
  readonly tarball: string;
  /** The CDK app's folder, with the package installed in node_modules/bosun. */
  readonly app: string;
  /** The installed `bosun` command (node_modules/.bin/bosun). */
  readonly bin: string;
}

/**
 * Packs the checkout into `work` (or takes the tarball given) and installs it into a new CDK
 * app `work/app`.
 */
export function packAndInstall(work: string, packedTarball?: string): PackedApp {
  const env = { ...process.env, ...OFFLINE_CDK_ENV };
  const tarball = packedTarball ?? pack(work, env);
  return install(work, tarball, env);
}

/** `npm pack` into `work`: the tarball's path. */
function pack(work: string, env: NodeJS.ProcessEnv): string {
  const output = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  // The prepack script's own lines come first; npm's JSON report is the rest.
  const packed = JSON.parse(output.slice(output.search(/^\[/m))) as { filename: string }[];
  return path.join(work, packed[0]?.filename ?? 'missing.tgz');
}

function install(work: string, tarball: string, env: NodeJS.ProcessEnv): PackedApp {
  const app = path.join(work, 'app');
  rmSync(app, { recursive: true, force: true });
  execFileSync('mkdir', ['-p', app]);
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/aws-cdk/bin/cdk'),
      'init',
      'app',
      '--language',
      'typescript',
      '--generate-only',
    ],
    { cwd: app, env, stdio: 'ignore' },
  );
  const linked = (name: string) => `file:${path.join(ROOT, 'node_modules', name)}`;
  const manifest = JSON.parse(readFileSync(path.join(app, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  manifest.dependencies = {
    'aws-cdk-lib': linked('aws-cdk-lib'),
    constructs: linked('constructs'),
    bosun: `file:${tarball}`,
  };
  manifest.devDependencies = Object.fromEntries(
    ['aws-cdk', 'typescript', 'tsx', '@types/node'].map((name) => [name, linked(name)]),
  );
  writeFileSync(path.join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  const tsconfig = JSON.parse(readFileSync(path.join(app, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: { types?: string[] };
  };
  tsconfig.compilerOptions.types = ['node'];
  writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  rmSync(path.join(app, 'test'), { recursive: true, force: true });
  rmSync(path.join(app, 'jest.config.js'), { force: true });
  execFileSync('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: app,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { tarball, app, bin: path.join(app, 'node_modules', '.bin', 'bosun') };
}
