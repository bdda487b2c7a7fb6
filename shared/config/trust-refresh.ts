/**
 * The trust-refresh function's configuration (docs/provenance-trust-refresh.md): which of the
 * trusted roots verification reads (BOSUN_PROVENANCE_TRUSTED_ROOTS, env.ts) are kept fresh from
 * which TUF repository, and the TUF root each is trusted from. The refresh writes exactly the
 * objects verification reads: a name must be one of BOSUN_PROVENANCE_TRUSTED_ROOTS.
 *
 * BOSUN_PROVENANCE_TRUST_REFRESH, JSON:
 * `{"public-good":{"mirror":"https://tuf-repo-cdn.sigstore.dev"},
 *   "corp":{"mirror":"https://tuf.corp.example","tufRoot":"s3://bucket/corp/root.json"}}`.
 * `tufRoot` may be left out only for a mirror whose root Bosun ships (the public-good one).
 * Roots of BOSUN_PROVENANCE_TRUSTED_ROOTS not named here are the deployer's own, never
 * overwritten.
 */
import * as z from 'zod';
import type { TrustRefreshSource } from '../provenance/trust-refresh.js';
import { shippedTufRoot } from '../provenance/tuf-seeds.js';
import { type Config, ConfigError, ENV_VARS, loadConfig, parseS3Uri } from './env.js';

/** This module's variables (not in env.ts's ENV_VARS). */
export const TRUST_REFRESH_ENV_VARS = {
  trustRefresh: 'BOSUN_PROVENANCE_TRUST_REFRESH',
} as const;

const s3Object = z.string().refine((s) => {
  const location = parseS3Uri(s);
  return location !== undefined && location.key !== '' && !location.key.endsWith('/');
}, 'an S3 object URI, s3://bucket/key');

/** One root's refresh settings, as the variable gives them. */
const rootRefresh = z.strictObject({
  mirror: z.url({ protocol: /^https?$/ }),
  tufRoot: s3Object.optional(),
});

export const trustRefreshSchema = z.record(z.string().min(1), rootRefresh);

export type TrustRefreshConfig = Config<'provenanceTrustedRoots' | 'region' | 's3Endpoint'> & {
  /** The roots to refresh, each with its object and where its TUF root comes from. */
  readonly sources: readonly TrustRefreshSource[];
};

/**
 * Reads and validates the variables; every problem is reported at once in a ConfigError naming
 * the variable and the root.
 */
export function loadTrustRefreshConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): TrustRefreshConfig {
  const problems: string[] = [];
  let base: Config<'provenanceTrustedRoots' | 'region' | 's3Endpoint'> | undefined;
  try {
    base = loadConfig(['provenanceTrustedRoots', 'region', 's3Endpoint'], env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const variable = TRUST_REFRESH_ENV_VARS.trustRefresh;
  const raw = env[variable];
  let refresh: z.output<typeof trustRefreshSchema> | undefined;
  if (raw === undefined || raw === '') problems.push(`${variable} is not set`);
  else {
    const json = parseJson(raw);
    const parsed = json === undefined ? undefined : trustRefreshSchema.safeParse(json);
    if (parsed?.success === true && !Array.isArray(json)) refresh = parsed.data;
    else
      problems.push(
        `${variable}=${JSON.stringify(raw)} is not valid (a JSON object of trusted root names to {"mirror": URL, "tufRoot"?: s3://bucket/key})`,
      );
  }
  const roots = base?.provenanceTrustedRoots;
  if (base !== undefined && roots === undefined)
    problems.push(`${ENV_VARS.provenanceTrustedRoots} is not set (the objects to refresh)`);
  const sources: TrustRefreshSource[] = [];
  for (const [name, settings] of Object.entries(refresh ?? {})) {
    const object = roots?.[name];
    if (roots !== undefined && object === undefined)
      problems.push(`${variable}: ${name} is not a root of ${ENV_VARS.provenanceTrustedRoots}`);
    const tufRoot = settings.tufRoot ?? shippedTufRoot(settings.mirror);
    if (tufRoot === undefined)
      problems.push(
        `${variable}: ${name}: no TUF root is shipped for ${settings.mirror}; give its root.json as "tufRoot"`,
      );
    if (object !== undefined && tufRoot !== undefined)
      sources.push({
        name,
        location: `s3://${object.bucket}/${object.key}`,
        mirrorUrl: settings.mirror,
        tufRoot,
      });
  }
  if (problems.length > 0 || base === undefined) throw new ConfigError(problems);
  return { ...base, sources };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
