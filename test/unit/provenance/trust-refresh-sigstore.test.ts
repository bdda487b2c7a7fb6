/**
 * The refresh against Sigstore's real public-good TUF repository, as published on 2026-08-21
 * (the shared data's copy of sigstore/root-signing: root versions 1-15, timestamp 762,
 * snapshot 165, targets 14, trusted_root.json), served from loopback at the paths its CDN
 * serves them, and trusted from the root.json @sigstore/tuf ships (version 14). What is pinned:
 * the production trust path works end to end on real keys and real metadata, from the shipped
 * root through the real root rotation, and writes the real trusted root byte for byte; a week
 * later the same metadata has expired and nothing is written. The clock is set to the
 * metadata's time, since the real timestamp lives seven days.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  refreshTrustedRoot,
  type TrustRefreshError,
  type TrustRootObjects,
} from '../../../shared/provenance/trust-refresh.js';
import {
  SIGSTORE_PUBLIC_GOOD_MIRROR,
  shippedTufRoot,
} from '../../../shared/provenance/tuf-client.js';
import { dataDir } from '../../support/fixtures.js';
import { type FileServer, recordConnections, serveFiles } from '../../support/tuf-repo.js';

const REPO = path.join(dataDir(), 'provenance/sigstore-root-signing');
const read = (relative: string) => readFileSync(path.join(REPO, relative));
const TRUSTED_ROOT = read('targets/trusted_root.json');
const LOCATION = 's3://bosun-trust/sigstore/public-good.json';

/** The repository's files at the URL paths a consistent-snapshot client asks for. */
function publicGoodFiles(): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const name of readdirSync(path.join(REPO, 'metadata/root_history')))
    files.set(`/${name}`, read(`metadata/root_history/${name}`));
  const meta = (file: string) =>
    JSON.parse(read(`metadata/${file}`).toString('utf8')) as {
      signed: { meta: Record<string, { version: number }> };
    };
  const snapshotVersion = meta('timestamp.json').signed.meta['snapshot.json']?.version;
  const targetsVersion = meta('snapshot.json').signed.meta['targets.json']?.version;
  files.set('/timestamp.json', read('metadata/timestamp.json'));
  files.set(`/${snapshotVersion}.snapshot.json`, read('metadata/snapshot.json'));
  files.set(`/${targetsVersion}.targets.json`, read('metadata/targets.json'));
  files.set(
    '/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json',
    TRUSTED_ROOT,
  );
  return files;
}

class MemoryObjects implements TrustRootObjects {
  readonly objects = new Map<string, Uint8Array>();
  async get(location: string) {
    return this.objects.get(location);
  }
  async put(location: string, bytes: Uint8Array) {
    this.objects.set(location, Uint8Array.from(bytes));
  }
}

let server: FileServer;
let work: string;
let connections: ReturnType<typeof recordConnections>;

beforeAll(async () => {
  server = await serveFiles(publicGoodFiles());
  work = mkdtempSync(path.join(tmpdir(), 'bosun-trust-refresh-sigstore-'));
  connections = recordConnections();
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  connections.stop();
  await server.close();
  rmSync(work, { recursive: true, force: true });
  expect(new Set(connections.hosts)).toEqual(new Set(['127.0.0.1']));
});

const tufRoot = shippedTufRoot(SIGSTORE_PUBLIC_GOOD_MIRROR);

describe("Sigstore's public-good TUF repository, trusted from the root @sigstore/tuf ships", () => {
  it('ships a root for the public-good mirror only', () => {
    expect(tufRoot).toBeDefined();
    expect(shippedTufRoot(`${SIGSTORE_PUBLIC_GOOD_MIRROR}/`)).toEqual(tufRoot);
    expect(shippedTufRoot('https://tuf-repo-cdn.sigstage.dev')).toBeUndefined();
    // The shipped root is one of the repository's own root versions, byte for byte.
    const shipped = JSON.parse(Buffer.from(tufRoot ?? []).toString('utf8')) as {
      signed: { version: number };
    };
    expect(Buffer.from(tufRoot ?? [])).toEqual(
      read(`metadata/root_history/${shipped.signed.version}.root.json`),
    );
  });

  it('walks the real root rotation and writes the real trusted root', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-08-22T00:00:00Z'));
    const objects = new MemoryObjects();
    const outcome = await refreshTrustedRoot(
      {
        name: 'public-good',
        location: LOCATION,
        mirrorUrl: server.url,
        tufRoot: tufRoot ?? new Uint8Array(),
      },
      { objects, cacheDir: path.join(work, 'fresh'), retries: 0 },
    );
    expect(outcome).toMatchObject({
      status: 'written',
      digest: 'sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66',
      targetsVersion: 14,
      tufRootVersion: 15,
    });
    expect(Buffer.from(objects.objects.get(LOCATION) ?? [])).toEqual(TRUSTED_ROOT);
    expect(server.requests).toContain('/15.root.json');
  });

  it('refuses the same metadata once its timestamp has expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-08-29T00:00:00Z'));
    const objects = new MemoryObjects();
    const error = (await refreshTrustedRoot(
      {
        name: 'public-good',
        location: LOCATION,
        mirrorUrl: server.url,
        tufRoot: tufRoot ?? new Uint8Array(),
      },
      { objects, cacheDir: path.join(work, 'later'), retries: 0 },
    ).catch((e: unknown) => e)) as TrustRefreshError;
    expect(error.name).toBe('TrustRefreshError');
    expect(error.failure).toBe('EXPIRED');
    expect(error.message).toContain('timestamp.json is expired');
    expect(objects.objects.size).toBe(0);
  });
});
