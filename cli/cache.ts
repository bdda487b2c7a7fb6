/** `bosun cache clean`: empties the CLI's layer cache (cli/options.ts says where it is). */
import { parseArgs } from 'node:util';
import { FileLayerCache } from '../shared/stores/file-layer-cache.js';
import { cacheDir, layersDir, UsageError } from './options.js';
import { print } from './output.js';

export async function cache(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'cache-dir': { type: 'string' } },
  });
  if (positionals[0] !== 'clean' || positionals.length > 1)
    throw new UsageError(
      positionals.length === 0
        ? 'which cache command? (clean)'
        : `no cache command ${JSON.stringify(positionals.join(' '))}; there is: clean`,
    );
  const dir = layersDir(cacheDir(values['cache-dir']));
  const { files, bytes } = await new FileLayerCache(dir).clean();
  print(`removed ${files} cached layer results (${(bytes / 1e6).toFixed(1)} MB) from ${dir}`);
  return 0;
}
