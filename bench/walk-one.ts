/**
 * Walks every layer of one image source and prints one JSON line: bytes read, seconds, peak
 * RSS. Run in its own process by bench/layers.ts so that each measurement has its own RSS.
 */
import { openImageSource } from '../shared/image/open-source.js';
import { walkImage } from '../shared/inventory/walk.js';
import { readerId } from '../shared/layers/reader-id.js';
import { RegistryClient } from '../shared/registry/client.js';

// What extractors of the inventory issue will ask for: package databases and metadata files.
const WANTED =
  /^(var\/lib\/dpkg\/status|var\/lib\/dpkg\/status\.d\/.*|lib\/apk\/db\/installed|etc\/os-release|usr\/lib\/os-release|.*\.dist-info\/METADATA|.*\/package\.json)$/;

async function main(source: string): Promise<void> {
  const started = process.hrtime.bigint();
  const set = await openImageSource(source, () => new RegistryClient()).images();
  let compressed = 0;
  let decompressed = 0;
  let files = 0;
  let read = 0;
  for (const image of set.images) {
    const walk = await walkImage(image, (e) => WANTED.test(e.path), {
      reader: readerId([{ id: 'bench/layers', version: 1 }]),
    });
    if (!walk.complete)
      throw new Error(`incomplete walk: ${walk.layers.map((l) => l.error?.message).join('; ')}`);
    for (const layer of walk.layers) {
      compressed += layer.result?.stats.compressedBytes ?? 0;
      decompressed += layer.result?.stats.decompressedBytes ?? 0;
      read += layer.result?.contents.size ?? 0;
    }
    files += walk.tree.size;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    JSON.stringify({
      source,
      seconds,
      compressed,
      decompressed,
      files,
      read,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

main(process.argv[2] ?? '').catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
