/** The CLI bundled as one ES module, as the benchmarks run it (a whole `node` process). */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { BENCH_DIR } from '../scripts/debian-image.js';
import { PROJECT_ROOT } from '../scripts/local/services.js';

export function bundleBosun(): string {
  const out = path.join(BENCH_DIR, 'bosun.mjs');
  execFileSync(
    path.join(PROJECT_ROOT, 'node_modules', '.bin', 'esbuild'),
    [
      path.join(PROJECT_ROOT, 'cli', 'bosun.ts'),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      `--outfile=${out}`,
      '--log-level=warning',
      // Optional XML plugins of the CycloneDX library, loaded only for XML output.
      '--external:xmlbuilder2',
      '--external:libxmljs2',
      "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    ],
    { stdio: 'inherit' },
  );
  return out;
}
