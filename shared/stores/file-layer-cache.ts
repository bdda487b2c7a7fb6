/**
 * The CLI's layer cache: the same layer results the service keeps in S3 (same key, same bytes,
 * shared/stores/s3.ts), as files in a folder, so a second scan of an image that shares base
 * layers with one scanned before reads only its own layers. Each file is written beside its
 * final name and renamed into place, so a reader sees a whole result or none; an unreadable
 * file is a miss, never an error.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { LayerCache } from '../inventory/walk.js';
import { cachedLayerBytes, cachedLayerResult, layerObjectName } from '../layers/cache-format.js';
import type { LayerReadResult } from '../layers/reader.js';

export class FileLayerCache implements LayerCache {
  constructor(readonly dir: string) {}

  async get(key: string): Promise<LayerReadResult | undefined> {
    const bytes = await readFile(path.join(this.dir, layerObjectName(key))).catch(() => undefined);
    return bytes === undefined ? undefined : cachedLayerResult(key, bytes);
  }

  async put(key: string, result: LayerReadResult): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = path.join(this.dir, layerObjectName(key));
    const temporary = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await writeFile(temporary, cachedLayerBytes(key, result));
      await rename(temporary, target);
    } finally {
      await rm(temporary, { force: true });
    }
  }

  /** Removes every cached result; what it removed (a missing folder holds nothing). */
  async clean(): Promise<{ readonly files: number; readonly bytes: number }> {
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    let bytes = 0;
    let files = 0;
    for (const name of names) {
      if (!name.endsWith('.json.gz') && !name.endsWith('.tmp')) continue;
      const file = path.join(this.dir, name);
      bytes += (await stat(file)).size;
      await rm(file, { force: true });
      files += 1;
    }
    return { files, bytes };
  }
}
