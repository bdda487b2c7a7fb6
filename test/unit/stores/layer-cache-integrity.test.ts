/**
 * Cached layer results are trusted on read only when sealed for their own key
 * (shared/layers/cache-format.ts, sealLayerResult): a corrupted object, another layer's result
 * under this name, or an object from before the seal is a miss, never a result. The layer is a
 * real Alpine 3.10 root (apk database, os-release) read by readLayer; S3 is faked at the SDK
 * boundary with a map of objects.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { LayerCache } from '../../../shared/inventory/walk.js';
import { encodeLayerResult, layerObjectName } from '../../../shared/layers/cache-format.js';
import { type LayerReadResult, readLayer } from '../../../shared/layers/reader.js';
import { FileLayerCache } from '../../../shared/stores/file-layer-cache.js';
import { LAYER_CACHE_PREFIX, S3LayerCache } from '../../../shared/stores/s3.js';
import { dataDir } from '../../support/fixtures.js';
import { tarOf } from '../../support/oci.js';

const ALPINE = path.join(dataDir(), 'pkgdbs/trivy/derived/alpine-310');
const KEY_A = 'sha256:1111111111111111111111111111111111111111111111111111111111111111@readers-1';
// Another key with the same object name: layerObjectName replaces ':' and '@' alike.
const KEY_B = 'sha256_1111111111111111111111111111111111111111111111111111111111111111:readers-1';

let result: LayerReadResult;
beforeAll(async () => {
  const tarball = await tarOf([
    { path: 'etc/os-release', content: readFileSync(path.join(ALPINE, 'etc/os-release')) },
    {
      path: 'lib/apk/db/installed',
      content: readFileSync(path.join(ALPINE, 'lib/apk/db/installed')),
    },
  ]);
  result = await readLayer(Readable.from([tarball]), () => true, { what: 'alpine layer' });
});

function fakeS3() {
  const objects = new Map<string, Uint8Array>();
  const s3 = new S3Client({ region: 'us-east-1' });
  vi.spyOn(s3, 'send').mockImplementation(async (command) => {
    if (command instanceof PutObjectCommand) {
      objects.set(command.input.Key ?? '', command.input.Body as Uint8Array);
      return {} as never;
    }
    if (command instanceof GetObjectCommand) {
      const bytes = objects.get(command.input.Key ?? '');
      if (bytes === undefined) throw new NoSuchKey({ message: 'NoSuchKey', $metadata: {} });
      return { Body: { transformToByteArray: async () => bytes } } as never;
    }
    throw new Error('unexpected command');
  });
  return { s3, objects };
}

/** Each cache with a way to reach the stored bytes of a key's object. */
function caches(): {
  name: string;
  cache: LayerCache;
  read: (key: string) => Buffer;
  write: (key: string, bytes: Buffer) => void;
}[] {
  const { s3, objects } = fakeS3();
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-layer-cache-'));
  const s3Key = (key: string) => `${LAYER_CACHE_PREFIX}${layerObjectName(key)}`;
  return [
    {
      name: 'S3',
      cache: new S3LayerCache(s3, 'bucket'),
      read: (key) => Buffer.from(objects.get(s3Key(key)) ?? Buffer.alloc(0)),
      write: (key, bytes) => objects.set(s3Key(key), bytes),
    },
    {
      name: 'file',
      cache: new FileLayerCache(dir),
      read: (key) => readFileSync(path.join(dir, layerObjectName(key))),
      write: (key, bytes) => writeFileSync(path.join(dir, layerObjectName(key)), bytes),
    },
  ];
}

describe.each(caches())('the $name layer cache', ({ cache, read, write }) => {
  it('returns a result it stored, as stored, and the object is still plain gzip', async () => {
    await cache.put(KEY_A, result);
    expect(await cache.get(KEY_A)).toEqual(result);
    expect(JSON.parse(gunzipSync(read(KEY_A)).toString('utf8'))).toMatchObject({ v: 1 });
  });

  it('misses on a corrupted object (one byte of the payload changed)', async () => {
    await cache.put(KEY_A, result);
    const bytes = read(KEY_A);
    // Inside the deflate stream, past the header and its seal.
    const at = bytes.length - 20;
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    write(KEY_A, bytes);
    expect(await cache.get(KEY_A)).toBeUndefined();
  });

  it("misses on another layer's result filed under the same name", async () => {
    expect(layerObjectName(KEY_B)).toBe(layerObjectName(KEY_A));
    await cache.put(KEY_B, result);
    expect(await cache.get(KEY_A)).toBeUndefined();
    expect(await cache.get(KEY_B)).toEqual(result);
  });

  it('misses on an unsealed object (a valid result without its seal)', async () => {
    write(KEY_A, encodeLayerResult(result));
    expect(await cache.get(KEY_A)).toBeUndefined();
  });
});

it('writes the same bytes to S3 and to files', async () => {
  const [s3, file] = caches();
  if (s3 === undefined || file === undefined) throw new Error('two caches');
  await s3.cache.put(KEY_A, result);
  await file.cache.put(KEY_A, result);
  expect(s3.read(KEY_A).equals(file.read(KEY_A))).toBe(true);
});
