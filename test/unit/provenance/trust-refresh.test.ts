/**
 * The trusted-root refresh (shared/provenance/trust-refresh.ts) against a real TUF repository
 * built at test time (test/support/tuf-repo.ts: Ed25519 keys from node:crypto, canonical JSON,
 * consistent snapshots) and served from loopback, publishing real trusted roots from the shared
 * data. What is pinned: the verified root is written byte for byte; nothing new writes nothing
 * (warm or cold); a new version is written; a tampered target, an expired timestamp, metadata
 * signed by a key the root does not name, an unauthorised root rotation, a target Bosun refuses
 * as a trusted root, a mirror that is down and a store that fails each leave the object as it
 * was and raise TrustRefreshError with the reason; every connection stays on loopback.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BosunError } from '../../../shared/errors.js';
import {
  refreshTrustedRoot,
  refreshTrustedRoots,
  TRUSTED_ROOT_TARGET,
  type TrustRefreshError,
  type TrustRefreshOptions,
  type TrustRefreshSource,
  type TrustRootObjects,
} from '../../../shared/provenance/trust-refresh.js';
import { dataDir } from '../../support/fixtures.js';
import {
  type FileServer,
  newTufKey,
  recordConnections,
  serveFiles,
  TufRepository,
} from '../../support/tuf-repo.js';

const PROVENANCE = path.join(dataDir(), 'provenance');
/** The public-good instance's trusted root (the README: "the production trust root"). */
const PRODUCTION = readFileSync(
  path.join(PROVENANCE, 'sigstore-root-signing/targets/trusted_root.json'),
);
/** The staging instance's: a different real root, standing in for the next version. */
const STAGING = readFileSync(
  path.join(PROVENANCE, 'sigstore-root-signing-staging/targets/trusted_root.json'),
);
/** A real root Bosun refuses: a tlog validity window without its start (parseTrustedRoot). */
const MISSING_START = readFileSync(
  path.join(
    PROVENANCE,
    'sigstore-conformance/test/assets/bundle-verify/trust-root-tlog-missing-validity-start_fail/trusted_root.json',
  ),
);
const LOCATION = 's3://bosun-trust/sigstore/public-good.json';

/** The object store port in memory, counting writes. */
class MemoryObjects implements TrustRootObjects {
  readonly objects = new Map<string, Uint8Array>();
  puts = 0;
  failPut = false;
  async get(location: string) {
    return this.objects.get(location);
  }
  async put(location: string, bytes: Uint8Array) {
    if (this.failPut) throw new Error('AccessDenied');
    this.puts++;
    this.objects.set(location, Uint8Array.from(bytes));
  }
}

let repo: TufRepository;
let server: FileServer;
let objects: MemoryObjects;
let work: string;
let connections: ReturnType<typeof recordConnections>;

beforeEach(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'bosun-trust-refresh-'));
  repo = new TufRepository();
  repo.publish({ [TRUSTED_ROOT_TARGET]: PRODUCTION });
  server = await serveFiles(repo.files);
  objects = new MemoryObjects();
  connections = recordConnections();
});

afterEach(async () => {
  connections.stop();
  await server.close();
  rmSync(work, { recursive: true, force: true });
  // No request left the loopback server: every connection of the test went to it.
  expect(connections.hosts.length).toBeGreaterThan(0);
  expect(new Set(connections.hosts)).toEqual(new Set(['127.0.0.1']));
});

const source = (over: Partial<TrustRefreshSource> = {}): TrustRefreshSource => ({
  name: 'public-good',
  location: LOCATION,
  mirrorUrl: server.url,
  tufRoot: repo.root(1),
  ...over,
});
/** Options of one function instance: `cache` names its /tmp (a new name is a cold start). */
const options = (cache = 'warm'): TrustRefreshOptions => ({
  objects,
  cacheDir: path.join(work, cache),
  retries: 0,
  timeoutMs: 5_000,
});

async function refused(run: Promise<unknown>): Promise<TrustRefreshError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BosunError);
  expect((error as Error).name).toBe('TrustRefreshError');
  return error as TrustRefreshError;
}

/** Writes the production root first: every failure below must leave exactly this. */
async function seeded(): Promise<void> {
  const first = await refreshTrustedRoot(source(), options());
  expect(first.status).toBe('written');
}

function expectProductionKept(): void {
  expect(objects.puts).toBe(1);
  expect(Buffer.from(objects.objects.get(LOCATION) ?? [])).toEqual(PRODUCTION);
}

describe('refreshing a trusted root from its TUF repository', () => {
  it('writes the verified root byte for byte, through the whole TUF workflow', async () => {
    const outcome = await refreshTrustedRoot(source(), options());
    expect(outcome).toEqual({
      name: 'public-good',
      location: LOCATION,
      status: 'written',
      digest: 'sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66',
      targetsVersion: 1,
      tufRootVersion: 1,
    });
    expect(Buffer.from(objects.objects.get(LOCATION) ?? [])).toEqual(PRODUCTION);
    // Consistent snapshots: versioned metadata, the target by its hash.
    expect(server.requests).toEqual([
      '/2.root.json',
      '/timestamp.json',
      '/1.snapshot.json',
      '/1.targets.json',
      '/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json',
    ]);
  });

  it('writes nothing when nothing is new, in a warm function and after a cold start', async () => {
    await seeded();
    const warm = await refreshTrustedRoot(source(), options());
    const cold = await refreshTrustedRoot(source(), options('cold'));
    for (const outcome of [warm, cold]) {
      expect(outcome.status).toBe('unchanged');
      expect(outcome.previousDigest).toBe(outcome.digest);
    }
    expect(objects.puts).toBe(1);
  });

  it('writes a new version of the target', async () => {
    await seeded();
    repo.publish({ [TRUSTED_ROOT_TARGET]: STAGING });
    const outcome = await refreshTrustedRoot(source(), options());
    expect(outcome).toMatchObject({
      status: 'written',
      previousDigest: 'sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66',
      targetsVersion: 2,
    });
    expect(objects.puts).toBe(2);
    expect(Buffer.from(objects.objects.get(LOCATION) ?? [])).toEqual(STAGING);
  });

  it('follows a root rotation signed by the old and the new root keys', async () => {
    await seeded();
    repo.rotateRoot({ root: newTufKey(), timestamp: newTufKey() });
    repo.publish({ [TRUSTED_ROOT_TARGET]: STAGING });
    const outcome = await refreshTrustedRoot(source(), options('cold'));
    expect(outcome).toMatchObject({ status: 'written', tufRootVersion: 2 });
  });
});

describe('a refresh that fails leaves the object as it was', () => {
  it('refuses a target whose bytes are not the ones its metadata hashes', async () => {
    await seeded();
    const tampered = Buffer.from(STAGING);
    // One bit of one certificate's bytes: the same length, another hash.
    const at = tampered.indexOf('rawBytes') + 20;
    tampered.writeUInt8(tampered.readUInt8(at) ^ 1, at);
    repo.publish(
      { [TRUSTED_ROOT_TARGET]: STAGING },
      { served: { [TRUSTED_ROOT_TARGET]: tampered } },
    );
    const error = await refused(refreshTrustedRoot(source(), options()));
    expect(error.failure).toBe('VERIFICATION');
    expect(error.root).toBe('public-good');
    expect(error.message).toMatch(/hash/i);
    expectProductionKept();
  });

  it.each(['timestamp', 'snapshot', 'targets'] as const)(
    'refuses expired %s metadata (a mirror frozen in the past)',
    async (role) => {
      await seeded();
      repo.publish({ [TRUSTED_ROOT_TARGET]: STAGING }, { expiresInDays: { [role]: -1 } });
      const error = await refused(refreshTrustedRoot(source(), options('cold')));
      expect(error.failure).toBe('EXPIRED');
      expect(error.message).toContain(`${role}.json is expired`);
      expectProductionKept();
    },
  );

  it('refuses a newest root that has expired', async () => {
    await seeded();
    repo.rotateRoot({}, { expiresInDays: { root: -1 } });
    const error = await refused(refreshTrustedRoot(source(), options()));
    expect(error.failure).toBe('EXPIRED');
    expect(error.message).toContain('root.json is expired');
    expectProductionKept();
  });

  it.each(['timestamp', 'snapshot', 'targets'] as const)(
    'refuses %s metadata signed by a key the root does not name',
    async (role) => {
      await seeded();
      repo.publish({ [TRUSTED_ROOT_TARGET]: STAGING }, { signers: { [role]: [newTufKey()] } });
      const error = await refused(refreshTrustedRoot(source(), options()));
      expect(error.failure).toBe('VERIFICATION');
      expect(error.message).toMatch(/signature|threshold|signed/i);
      expectProductionKept();
    },
  );

  it('refuses a new root not signed by the keys of the root before it', async () => {
    await seeded();
    const intruder = newTufKey();
    repo.rotateRoot({ root: intruder }, { signers: { root: [intruder] } });
    repo.publish({ [TRUSTED_ROOT_TARGET]: STAGING });
    const error = await refused(refreshTrustedRoot(source(), options('cold')));
    expect(error.failure).toBe('VERIFICATION');
    expectProductionKept();
  });

  it('refuses a verified target that Bosun would refuse as a trusted root', async () => {
    await seeded();
    repo.publish({ [TRUSTED_ROOT_TARGET]: MISSING_START });
    const error = await refused(refreshTrustedRoot(source(), options()));
    expect(error.failure).toBe('REFUSED');
    expect(error.message).toMatch(/validFor has no start/);
    expectProductionKept();
  });

  it('refuses a repository whose targets do not list trusted_root.json', async () => {
    await seeded();
    repo.publish({ 'signing_config.json': Buffer.from('{}') });
    const error = await refused(refreshTrustedRoot(source(), options()));
    expect(error.failure).toBe('NO_TARGET');
    expectProductionKept();
  });

  it.each(['timestamp', 'snapshot', 'targets'] as const)(
    'reports a mirror that does not serve its %s metadata as unavailable',
    async (role) => {
      await seeded();
      repo.publish({ [TRUSTED_ROOT_TARGET]: STAGING });
      repo.files.delete(role === 'timestamp' ? '/timestamp.json' : `/2.${role}.json`);
      const error = await refused(refreshTrustedRoot(source(), options()));
      expect(error.failure).toBe('UNAVAILABLE');
      expectProductionKept();
    },
  );

  it('reports a mirror that cannot be reached as unavailable', async () => {
    await seeded();
    await server.close();
    const error = await refused(refreshTrustedRoot(source(), options()));
    expect(error.failure).toBe('UNAVAILABLE');
    expect(error.message).toContain('fetch failed');
    expectProductionKept();
  });

  it('reports a store that cannot be written, and never counts the root as refreshed', async () => {
    objects.failPut = true;
    const error = await refused(refreshTrustedRoot(source(), options()));
    expect(error.failure).toBe('STORE');
    expect(error.message).toContain(LOCATION);
    expect(objects.objects.size).toBe(0);
  });

  it('trusts a TUF root kept in an object, and reports one that is missing', async () => {
    objects.objects.set('s3://bosun-trust/tuf/root.json', repo.root(1));
    const outcome = await refreshTrustedRoot(
      source({ tufRoot: 's3://bosun-trust/tuf/root.json' }),
      options(),
    );
    expect(outcome.status).toBe('written');
    const error = await refused(
      refreshTrustedRoot(source({ tufRoot: 's3://bosun-trust/tuf/missing.json' }), options()),
    );
    expect(error.failure).toBe('STORE');
    expect(error.message).toContain('TUF root s3://bosun-trust/tuf/missing.json does not exist');
  });

  it('refreshes every root even when one of them fails', async () => {
    const other = 's3://bosun-trust/sigstore/other.json';
    const run = await refreshTrustedRoots(
      [
        source({ name: 'broken', tufRoot: new TufRepository().root(1) }),
        source({ name: 'other', location: other }),
      ],
      options(),
    );
    expect(run.failures.map((f) => [f.root, f.failure])).toEqual([['broken', 'VERIFICATION']]);
    expect(run.outcomes.map((o) => [o.name, o.status])).toEqual([['other', 'written']]);
    expect(objects.objects.has(LOCATION)).toBe(false);
  });
});
