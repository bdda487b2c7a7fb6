/**
 * The flags every image command shares, and what they set up before the command runs: where the
 * report goes, the source (a positional or --input), the deadline, the progress line and the
 * layer cache.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import {
  type ChecksConfig,
  ChecksConfigError,
  parseChecksConfig,
} from '../shared/checks/config.js';
import type { LayerCache } from '../shared/inventory/walk.js';
import { parseReference } from '../shared/registry/reference.js';
import { FileLayerCache } from '../shared/stores/file-layer-cache.js';
import { closeOutput, drained, openOutput } from './output.js';
import { type Progress, progress } from './progress.js';

export const SOURCE_OPTIONS = {
  input: { type: 'string' },
  platform: { type: 'string', multiple: true },
  'insecure-registry': { type: 'string', multiple: true },
  'allow-host': { type: 'string', multiple: true },
  output: { type: 'string', short: 'o' },
  'cache-dir': { type: 'string' },
  'no-cache': { type: 'boolean', default: false },
  timeout: { type: 'string' },
  quiet: { type: 'boolean', short: 'q', default: false },
  'no-progress': { type: 'boolean', default: false },
} as const;

/**
 * The provenance policy and its trust material, for `verify` and `scan` (cli/verify.ts reads
 * them; it is loaded only when one is given).
 */
export const PROVENANCE_OPTIONS = {
  policy: { type: 'string' },
  'trusted-root': { type: 'string', multiple: true },
  'notation-trust-store': { type: 'string' },
  crl: { type: 'string', multiple: true },
} as const;

export interface ProvenanceValues {
  readonly policy?: string | undefined;
  readonly 'trusted-root'?: string[] | undefined;
  readonly 'notation-trust-store'?: string | undefined;
  readonly crl?: string[] | undefined;
}

export interface SourceValues {
  readonly input?: string | undefined;
  readonly output?: string | undefined;
  readonly 'cache-dir'?: string | undefined;
  readonly 'no-cache'?: boolean | undefined;
  readonly timeout?: string | undefined;
  readonly quiet?: boolean | undefined;
  readonly 'no-progress'?: boolean | undefined;
}

export interface Prepared {
  readonly input: string;
  readonly status: Progress;
  readonly cache?: LayerCache;
}

/** A usage error's one line; the caller adds where the help is and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const UNITS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** `90s`, `5m`, `1h30m`, `5m0s` (Go's duration spelling, as Trivy's --timeout takes it), in ms. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text)
    throw new UsageError(
      `invalid --timeout ${JSON.stringify(text)}: a duration such as 90s, 5m or 1h30m`,
    );
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] ?? ''] ?? 0), 0);
  if (!(ms > 0))
    throw new UsageError(`invalid --timeout ${JSON.stringify(text)}: it must be more than zero`);
  return ms;
}

/** The CLI's cache folder: --cache-dir, else $BOSUN_CACHE_DIR, else ~/.cache/bosun. */
export function cacheDir(flag: string | undefined): string {
  return flag ?? process.env.BOSUN_CACHE_DIR ?? path.join(homedir(), '.cache', 'bosun');
}

/** The local advisory database: $BOSUN_DB_DIR, else ~/.cache/bosun/db (`--db` overrides it). */
export function defaultDbDir(): string {
  return process.env.BOSUN_DB_DIR ?? path.join(homedir(), '.cache', 'bosun', 'db');
}

/** Where layer results live inside the cache folder. */
export const layersDir = (dir: string) => path.join(dir, 'layers');

/** The one image source: the positional or --input; throws UsageError for none or several. */
export function sourceInput(values: SourceValues, positionals: readonly string[]): string {
  const given = [...positionals, ...(values.input === undefined ? [] : [values.input])];
  if (given.length === 0) throw new UsageError('no image source given');
  if (given.length > 1)
    throw new UsageError(`one image source, not ${given.length}: ${given.join(' ')}`);
  return given[0] as string;
}

/**
 * Checks the shared flags and sets them up: the output target, the deadline (on expiry the
 * report is dropped, a message says why, exit 3), the progress line and the layer cache.
 * Throws UsageError for a missing or doubled source or a bad duration.
 */
export function prepare(values: SourceValues, positionals: readonly string[]): Prepared {
  const input = sourceInput(values, positionals);
  const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout);
  openOutput(values.output);
  if (timeoutMs !== undefined) {
    setTimeout(async () => {
      console.error(`bosun: timed out after ${values.timeout} (--timeout); no report written`);
      closeOutput(false);
      await drained();
      process.exit(3);
    }, timeoutMs).unref();
  }
  const quietProgress = values.quiet === true || values['no-progress'] === true;
  return {
    input,
    status: quietProgress ? { update() {}, done() {} } : progress(),
    ...(values['no-cache'] === true
      ? {}
      : { cache: new FileLayerCache(layersDir(cacheDir(values['cache-dir']))) }),
  };
}

/**
 * `--checks-config FILE`: the same JSON document the deployment's `imageChecks` prop takes
 * (shared/checks/config.ts); a file that cannot be read or is not a valid configuration is a
 * usage error naming it.
 */
export function readChecksConfig(file: string): ChecksConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--checks-config ${file}: ${(error as Error).message}`);
  }
  try {
    return parseChecksConfig(text, `--checks-config ${file}`);
  } catch (error) {
    if (error instanceof ChecksConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * The repository a checks configuration's rules are matched against: a registry reference's
 * (without the registry host, as the deployment names repositories); none for a file or folder,
 * where only rules for every repository (`*`) apply.
 */
export function checksRepositoriesOf(input: string): string[] {
  if (/^(docker-archive|oci-archive|oci|dir):/.test(input) || existsSync(input)) return [];
  try {
    return [parseReference(input.replace(/^docker:\/\//, '')).repository];
  } catch {
    return [];
  }
}
