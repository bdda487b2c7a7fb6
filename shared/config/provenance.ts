/**
 * A deployment's provenance policy and trust material (issue 19), read from where the
 * configuration says: the policy inline (BOSUN_PROVENANCE_POLICY), in an S3 object
 * (BOSUN_PROVENANCE_POLICY_S3) or in a Parameter Store parameter, decrypted when it is a
 * SecureString (BOSUN_PROVENANCE_POLICY_SSM); Sigstore trusted roots and a Notation trust store
 * in S3. No policy variable means provenance is not checked; anything else that cannot be read
 * or parsed is a ProvenanceConfigError, never "provenance off".
 *
 * Read material is kept for a short time (5 minutes by default) and then read again, so that a
 * changed policy object or trusted root (the TUF refresh writes the roots' objects) is used
 * without waiting for a cold start; `get(true)` reads at once (the re-verification function on
 * a change event).
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { BosunError } from '../errors.js';
import {
  type LoadedTrust,
  loadTrust,
  type ProvenanceChecker,
  type TrustSources,
} from '../provenance/check.js';
import { type ProvenancePolicy, parseProvenancePolicy } from '../provenance/policy.js';
import { type Config, ConfigError, ENV_VARS, type S3Location } from './env.js';

/** The variables of provenance, for `loadConfig`. */
export const PROVENANCE_CONFIG = [
  'provenancePolicy',
  'provenancePolicyS3',
  'provenancePolicySsm',
  'provenanceTrustedRoots',
  'provenanceNotationTrustStore',
  'provenanceMaxAgeHours',
] as const;

export type ProvenanceConfig = Partial<Config<(typeof PROVENANCE_CONFIG)[number]>>;

/** Policy or trust material that is configured but cannot be read or parsed. */
export class ProvenanceConfigError extends BosunError {
  readonly fatal = true;
}

export type PolicySource =
  | { readonly inline: string }
  | { readonly s3: S3Location }
  | { readonly ssmParameter: string };

export interface ProvenanceSettings {
  readonly policy: PolicySource;
  /** Sigstore TrustedRoot objects by the name policies give them. */
  readonly trustedRoots: Readonly<Record<string, S3Location>>;
  /** A prefix (`key` empty or ending in `/`) or a zip object holding `x509/<type>/<name>/`. */
  readonly notationTrustStore?: S3Location;
  /** How long a verdict stands; undefined: the pipeline's default (a day). */
  readonly maxAgeMs?: number;
}

/**
 * The provenance settings, or undefined when no policy is configured. Two policy sources, or
 * trust material without a policy, are a ConfigError naming the variables: a deployer who set
 * them meant provenance to be checked.
 */
export function provenanceSettings(config: ProvenanceConfig): ProvenanceSettings | undefined {
  const sources: [string, PolicySource | undefined][] = [
    [
      ENV_VARS.provenancePolicy,
      config.provenancePolicy === undefined ? undefined : { inline: config.provenancePolicy },
    ],
    [
      ENV_VARS.provenancePolicyS3,
      config.provenancePolicyS3 === undefined ? undefined : { s3: config.provenancePolicyS3 },
    ],
    [
      ENV_VARS.provenancePolicySsm,
      config.provenancePolicySsm === undefined
        ? undefined
        : { ssmParameter: config.provenancePolicySsm },
    ],
  ];
  const given = sources.filter(([, s]) => s !== undefined);
  if (given.length > 1)
    throw new ConfigError([
      `only one provenance policy source may be set, got ${given.map(([v]) => v).join(' and ')}`,
    ]);
  const policy = given[0]?.[1];
  if (policy === undefined) {
    const orphans = (
      ['provenanceTrustedRoots', 'provenanceNotationTrustStore', 'provenanceMaxAgeHours'] as const
    ).filter((k) => config[k] !== undefined);
    if (orphans.length > 0)
      throw new ConfigError(
        orphans.map(
          (k) =>
            `${ENV_VARS[k]} is set but no provenance policy is (${sources.map(([v]) => v).join(', ')})`,
        ),
      );
    return undefined;
  }
  return {
    policy,
    trustedRoots: config.provenanceTrustedRoots ?? {},
    ...(config.provenanceNotationTrustStore === undefined
      ? {}
      : { notationTrustStore: config.provenanceNotationTrustStore }),
    ...(config.provenanceMaxAgeHours === undefined
      ? {}
      : { maxAgeMs: config.provenanceMaxAgeHours * 3_600_000 }),
  };
}

export interface ProvenanceClients {
  readonly s3: Pick<S3Client, 'send'>;
  /** Only for a policy in Parameter Store. */
  readonly ssm?: Pick<SSMClient, 'send'>;
}

export interface LoadedProvenance {
  readonly policy: ProvenancePolicy;
  readonly trust: LoadedTrust;
}

// A policy, a trusted root and a certificate file are small documents; anything larger is a
// mistake (a wrong key), refused before it is held in memory whole.
const MAX_OBJECT_BYTES = 4 * 1024 * 1024;
// Files of one trust store, across all its named stores.
const MAX_TRUST_STORE_FILES = 1_000;
const STORE_TYPES = new Set(['ca', 'signingAuthority', 'tsa']);

const uri = (l: S3Location) => `s3://${l.bucket}/${l.key}`;

async function readObject(s3: ProvenanceClients['s3'], location: S3Location): Promise<Buffer> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    if (out.ContentLength !== undefined && out.ContentLength > MAX_OBJECT_BYTES)
      throw new Error(`${out.ContentLength} bytes, more than ${MAX_OBJECT_BYTES}`);
    const bytes = await out.Body?.transformToByteArray();
    if (bytes === undefined) throw new Error('no body');
    if (bytes.byteLength > MAX_OBJECT_BYTES)
      throw new Error(`${bytes.byteLength} bytes, more than ${MAX_OBJECT_BYTES}`);
    return Buffer.from(bytes);
  } catch (cause) {
    throw new ProvenanceConfigError(
      `${uri(location)} could not be read: ${(cause as Error).message}`,
      { cause },
    );
  }
}

async function policyText(source: PolicySource, clients: ProvenanceClients): Promise<string> {
  if ('inline' in source) return source.inline;
  if ('s3' in source) return (await readObject(clients.s3, source.s3)).toString('utf8');
  const { ssm } = clients;
  if (ssm === undefined)
    throw new ProvenanceConfigError(
      `the policy is in Parameter Store (${source.ssmParameter}) but no SSM client was given`,
    );
  // Loaded on first use: most deployments keep their policy elsewhere.
  const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
  try {
    // A SecureString is decrypted (kms:Decrypt on its key); for a String the flag is ignored.
    // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html
    const out = await ssm.send(
      new GetParameterCommand({ Name: source.ssmParameter, WithDecryption: true }),
    );
    const value = out.Parameter?.Value;
    if (value === undefined || value === '') throw new Error('the parameter has no value');
    return value;
  } catch (cause) {
    throw new ProvenanceConfigError(
      `parameter ${source.ssmParameter} could not be read: ${(cause as Error).message}`,
      { cause },
    );
  }
}

function describePolicySource(source: PolicySource): string {
  if ('inline' in source) return `${ENV_VARS.provenancePolicy}`;
  if ('s3' in source) return uri(source.s3);
  return `parameter ${source.ssmParameter}`;
}

/** `x509/<type>/<name>/<file>` as the store's `<type>:<name>`; deeper files are ignored. */
function storeOf(relative: string, where: string): string | undefined {
  const parts = relative.split('/');
  if (parts.length !== 4 || parts[0] !== 'x509' || parts[3] === '') return undefined;
  const [, type, name] = parts as [string, string, string, string];
  if (!STORE_TYPES.has(type))
    throw new ProvenanceConfigError(
      `${where}: "${relative}" is not under x509/ca, x509/signingAuthority or x509/tsa`,
    );
  return `${type}:${name}`;
}

/**
 * Notation's trust store layout (https://github.com/notaryproject/specifications/blob/v1.1.0/
 * specs/trust-store-trust-policy.md#trust-store): `x509/{ca,signingAuthority,tsa}/<name>/<files>`,
 * under an S3 prefix or inside one zip object (a CDK asset of a local folder).
 */
async function notationStores(
  s3: ProvenanceClients['s3'],
  location: S3Location,
): Promise<Record<string, Uint8Array[]>> {
  const stores: Record<string, Uint8Array[]> = {};
  const add = (relative: string, bytes: Uint8Array, where: string) => {
    const store = storeOf(relative, where);
    if (store === undefined) return;
    stores[store] = [...(stores[store] ?? []), bytes];
  };
  if (location.key.endsWith('.zip')) {
    // Loaded on first use: the scan function's other readers of zips are too (cold start).
    const { ZipReader } = await import('../zip.js');
    const zip = await ZipReader.fromBuffer(await readObject(s3, location), uri(location));
    try {
      for await (const entry of zip.entries()) add(entry.name, await entry.read(), uri(location));
    } finally {
      zip.close();
    }
  } else {
    const keys = await listKeys(s3, location);
    for (const key of keys)
      add(
        key.slice(location.key.length),
        await readObject(s3, { bucket: location.bucket, key }),
        uri(location),
      );
  }
  if (Object.keys(stores).length === 0)
    throw new ProvenanceConfigError(
      `${uri(location)} holds no trust store (x509/<type>/<name>/<certificate files>)`,
    );
  return stores;
}

async function listKeys(s3: ProvenanceClients['s3'], location: S3Location): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const out = await s3.send(
        new ListObjectsV2Command({
          Bucket: location.bucket,
          Prefix: location.key,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
      token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
    } while (token !== undefined && keys.length <= MAX_TRUST_STORE_FILES);
  } catch (cause) {
    throw new ProvenanceConfigError(
      `${uri(location)} could not be listed: ${(cause as Error).message}`,
      { cause },
    );
  }
  if (keys.length > MAX_TRUST_STORE_FILES)
    throw new ProvenanceConfigError(
      `${uri(location)} holds more than ${MAX_TRUST_STORE_FILES} objects; a trust store holds a few certificates`,
    );
  return keys.sort();
}

/** Reads and parses the policy and the trust material; throws ProvenanceConfigError. */
export async function readProvenance(
  settings: ProvenanceSettings,
  clients: ProvenanceClients,
): Promise<LoadedProvenance> {
  const text = await policyText(settings.policy, clients);
  let policy: ProvenancePolicy;
  try {
    policy = parseProvenancePolicy(text, describePolicySource(settings.policy));
  } catch (cause) {
    throw new ProvenanceConfigError((cause as Error).message, { cause });
  }
  const roots = await Promise.all(
    Object.entries(settings.trustedRoots).map(
      async ([name, location]) =>
        [name, (await readObject(clients.s3, location)).toString('utf8')] as const,
    ),
  );
  const sources: TrustSources = {
    sigstoreRoots: Object.fromEntries(roots),
    ...(settings.notationTrustStore === undefined
      ? {}
      : { notationStores: await notationStores(clients.s3, settings.notationTrustStore) }),
  };
  try {
    return { policy, trust: loadTrust(sources) };
  } catch (cause) {
    throw new ProvenanceConfigError(`provenance trust material: ${(cause as Error).message}`, {
      cause,
    });
  }
}

export interface CacheOptions {
  /** How long read material is used before it is read again. @default 5 minutes */
  readonly maxAgeMs?: number;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

export const PROVENANCE_CACHE_MS = 5 * 60_000;

/**
 * `readProvenance` kept for `maxAgeMs`: concurrent callers share one read, `get(true)` reads at
 * once, and a failed read is not kept (the next call tries again, and fails as loudly).
 */
export function cachedProvenance(
  settings: ProvenanceSettings,
  clients: ProvenanceClients,
  options: CacheOptions = {},
): (fresh?: boolean) => Promise<LoadedProvenance> {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? PROVENANCE_CACHE_MS;
  let cached: { value: Promise<LoadedProvenance>; at: number } | undefined;
  return (fresh = false) => {
    if (cached === undefined || fresh || now() - cached.at >= maxAgeMs) {
      const entry = { value: readProvenance(settings, clients), at: now() };
      cached = entry;
      entry.value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.value;
  };
}

/**
 * A checker whose policy and trust follow `load` (cachedProvenance): each check first asks for
 * the current material, and a changed one makes a new checker through `make`. `policy` and
 * `trustVersion` are those of the last check, so a verdict is recorded under the versions it
 * was decided with. `initial` is material already read (the first `load()`).
 */
export function refreshingChecker(
  load: () => Promise<LoadedProvenance>,
  initial: LoadedProvenance,
  make: (loaded: LoadedProvenance) => ProvenanceChecker,
): ProvenanceChecker {
  let loaded = initial;
  let checker = make(initial);
  return {
    get policy() {
      return checker.policy;
    },
    get trustVersion() {
      return checker.trustVersion;
    },
    async check(registry, repository, digest, options) {
      const next = await load();
      if (next !== loaded) {
        loaded = next;
        checker = make(next);
      }
      return checker.check(registry, repository, digest, options);
    },
  };
}
