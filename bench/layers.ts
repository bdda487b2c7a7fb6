/**
 * `npm run bench:layers`: walks every layer of a real Debian image from its `docker save`
 * archive and from the local registry, and compares with the floor measured on the same layer
 * files in the same run: `gzip -dc layer | tar -t > /dev/null`. Prints MB/s, peak RSS and the
 * ratio to the floor (median of several runs). Targets: within 1.3x of the floor, peak RSS
 * under 256 MB.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BENCH_DIR, debianImage } from '../scripts/debian-image.js';
import { PROJECT_ROOT } from '../scripts/local/services.js';
import { down, up } from '../scripts/local/stack.js';
import { median } from './stats.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function floorSeconds(layers: string[]): number {
  const started = process.hrtime.bigint();
  for (const layer of layers)
    execFileSync('sh', ['-c', `gzip -dc "${layer}" | tar -t > /dev/null`]);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

interface Walk {
  seconds: number;
  compressed: number;
  decompressed: number;
  files: number;
  read: number;
  maxRssMB: number;
}

function walkOnce(source: string): Walk {
  const out = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'walk-one.ts'), source],
    {
      encoding: 'utf8',
      cwd: PROJECT_ROOT,
    },
  );
  if (out.status !== 0) throw new Error(`walk of ${source} failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').pop() ?? '{}') as Walk;
}

async function main(): Promise<void> {
  const log = (line: string) => console.error(`bench:layers: ${line}`);
  const image = await debianImage(log);
  const stackDir = path.join(BENCH_DIR, 'stack');
  const { state, reused } = await up({ dir: stackDir });
  try {
    const ref = `127.0.0.1:${state.services.registry.port}/bosun-bench/debian:bookworm`;
    execFileSync('skopeo', [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      `docker-archive:${image.archive}`,
      `docker://${ref}`,
    ]);
    const sources: [string, string][] = [
      ['docker-archive', `docker-archive:${image.archive}`],
      ['registry', ref],
    ];
    const rows: string[] = [];
    for (const [name, source] of sources) {
      walkOnce(source); // warm the page cache and the registry
      const walks: Walk[] = [];
      const floors: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        floors.push(floorSeconds(image.layers));
        walks.push(walkOnce(source));
      }
      const first = walks[0] as Walk;
      const seconds = median(walks.map((w) => w.seconds));
      const floor = median(floors);
      rows.push(
        [
          name.padEnd(15),
          `${(first.compressed / 1e6).toFixed(0)} MB gz`.padStart(10),
          `${(first.decompressed / 1e6).toFixed(0)} MB tar`.padStart(11),
          `${first.files} files`.padStart(12),
          `${seconds.toFixed(2)} s`.padStart(8),
          `${(first.decompressed / 1e6 / seconds).toFixed(0)} MB/s`.padStart(10),
          `floor ${floor.toFixed(2)} s`.padStart(13),
          `ratio ${(seconds / floor).toFixed(2)}x`.padStart(12),
          `peak RSS ${Math.max(...walks.map((w) => w.maxRssMB)).toFixed(0)} MB`.padStart(18),
        ].join(' '),
      );
    }
    console.log(
      `bench:layers: Debian bookworm image, 2 gzip layers, rootfs ${(image.rootfsBytes / 1e6).toFixed(0)} MB; median of ${RUNS} runs`,
    );
    for (const row of rows) console.log(row);
  } finally {
    if (!reused) await down(stackDir);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
