/**
 * `npm run bench:hostile`: the hostile images of issue 17 that the layer walker and the
 * extractors must survive, each built here from real files plus the hostile change, each
 * inventoried in its own process under `/usr/bin/time -f %M`. Prints peak RSS and wall time per
 * image and how it ended (complete, or the recorded reason); the targets are RSS <= 256 MB and
 * <= 60 s, with Node's default heap (BENCH_HEAP_MB caps it). Results go in docs/reliability.md ("Hostile images").
 *
 *   deep-path        real Alpine 3.10 files and a file 10,000 directories deep
 *   jar-bombs        ten 523 KB-class jars, each of eight nested "jars" of 64 MiB of zeros
 *   sparse-file      real Alpine files and a 200 MiB zero-filled /var/log/lastlog
 *   million-entries  real Alpine files and 1,000,000 empty files
 *   big-rpm-header   CBL-Mariner 2.0's real rpmdb.sqlite with one more row: a real rpm header
 *                    whose file-name tag claims 48 million names over 48 MiB of NULs
 *   big-sparse-elf   esbuild's real Go executable grown with zeros to 500 MB
 *   two-gb-image     issue 18's memory target: about 2 GB in four layers, four real fat jars
 *                    (DynamoDB Local's jars nested), 60 real Go executables, a 1 GiB file
 *
 * Run as `node hostile.mjs --run <dir>`, it inventories one built image and prints one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import type { Image } from '../shared/image/types.js';
import { buildInventory } from '../shared/inventory/inventory.js';
import { zipOf } from '../test/support/zip.js';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DATA = process.env.BOSUN_DATA_DIR ?? path.resolve(PROJECT_ROOT, '..', 'shared', 'data');
const OUT = path.join(PROJECT_ROOT, '.local', 'bench', 'hostile');
const MiB = 1024 * 1024;
const RSS_TARGET_MB = 256;
/**
 * The child runs with Node's own heap settings, as the deployed function does. BENCH_HEAP_MB=N
 * caps its old space at N MB instead (to see what is live rather than what V8 lets pile up).
 */
const HEAP_MB = Number(process.env.BENCH_HEAP_MB ?? 0);
const HEAP = HEAP_MB > 0 ? [`--max-old-space-size=${HEAP_MB}`] : [];
const SECONDS_TARGET = 60;

interface Entry {
  readonly name: string;
  readonly content?: Buffer;
  /** Content written in pieces (a large file): total size and a writer. */
  readonly stream?: { size: number; write(sink: (b: Buffer) => Promise<void>): Promise<void> };
  readonly type?: 'file' | 'directory';
  readonly mode?: number;
}

/** Writes one gzip'd tar layer from entries, streaming, never holding a large file whole. */
async function writeLayer(file: string, entries: Iterable<Entry>, gzip = true): Promise<void> {
  const pack = tar.pack();
  const done = gzip
    ? pipeline(pack, createGzip({ level: 6 }), createWriteStream(file))
    : pipeline(pack, createWriteStream(file));
  for (const e of entries) {
    const header = {
      name: e.name,
      mtime: new Date(0),
      mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644),
      type: e.type ?? 'file',
    };
    if (e.stream !== undefined) {
      const { stream } = e;
      const sink = pack.entry({ ...header, size: stream.size });
      await stream.write(
        (b) =>
          new Promise<void>((resolve) => {
            if (sink.write(b)) resolve();
            else sink.once('drain', () => resolve());
          }),
      );
      await new Promise<void>((resolve) => {
        sink.once('finish', () => resolve());
        sink.end(Buffer.alloc(0));
      });
    } else {
      await new Promise<void>((resolve, reject) =>
        pack.entry(header, e.content ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
      );
    }
  }
  pack.finalize();
  await done;
}

/** A ustar header of an empty regular file, mode 0644, time 0. */
function emptyFileHeader(name: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write('00000000000\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\u000000', 257, 'latin1');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const alpine = (): Entry[] => {
  const root = path.join(DATA, 'pkgdbs/trivy/derived/alpine-310');
  return ['etc/os-release', 'etc/alpine-release', 'lib/apk/db/installed'].map((name) => ({
    name,
    content: readFileSync(path.join(root, name)),
  }));
};

const zeros = (size: number) => ({
  size,
  async write(sink: (b: Buffer) => Promise<void>) {
    const block = Buffer.alloc(MiB);
    for (let left = size; left > 0; left -= block.length)
      await sink(left >= block.length ? block : block.subarray(0, left));
  },
});

/** A real rpm header (go-rpmdb's blob.bin) whose BASENAMES tag claims `names` empty names. */
function hugeHeader(names: number): Buffer {
  const real = readFileSync(path.join(DATA, 'pkgdbs/go-rpmdb/pkg/testdata/blob.bin'));
  const il = real.readUInt32BE(0);
  const hostile = Buffer.concat([real, Buffer.alloc(names)]);
  hostile.writeUInt32BE(real.readUInt32BE(4) + names, 4);
  for (let at = 8; at < 8 + il * 16; at += 16)
    if (hostile.readUInt32BE(at) === 1117) hostile.writeUInt32BE(names, at + 12);
  return hostile;
}

const BUILDERS: Record<string, (dir: string) => Promise<void>> = {
  'deep-path': (dir) =>
    writeLayer(path.join(dir, 'layer-0.tar.gz'), [
      ...alpine(),
      { name: `${'d/'.repeat(10_000)}file`, content: Buffer.from('deep') },
    ]),
  'jar-bombs': async (dir) => {
    const bomb = await zipOf(
      Object.fromEntries(
        Array.from({ length: 8 }, (_, i) => [`lib/z${i}.jar`, Buffer.alloc(64 * MiB)]),
      ),
    );
    await writeLayer(path.join(dir, 'layer-0.tar.gz'), [
      ...alpine(),
      ...Array.from({ length: 10 }, (_, i) => ({ name: `app/bomb${i}.jar`, content: bomb })),
    ]);
  },
  'sparse-file': (dir) =>
    writeLayer(path.join(dir, 'layer-0.tar.gz'), [
      ...alpine(),
      { name: 'var/log/lastlog', stream: zeros(200 * MiB) },
    ]),
  'million-entries': async (dir) => {
    // tar-stream packs some 1,000 entries a second: the million empty headers are written
    // here directly (ustar, https://www.gnu.org/software/tar/manual/html_node/Standard.html),
    // after the real files it packed.
    const head = path.join(dir, 'head.tar');
    await writeLayer(head, alpine(), false);
    const tarred = readFileSync(head);
    rmSync(head);
    const gzip = createGzip({ level: 6 });
    const done = pipeline(gzip, createWriteStream(path.join(dir, 'layer-0.tar.gz')));
    gzip.write(tarred.subarray(0, tarred.length - 1024)); // without its two end blocks
    const batch: Buffer[] = [];
    for (let d = 0; d < 1000; d++) {
      for (let f = 0; f < 1000; f++) batch.push(emptyFileHeader(`data/${d}/${f}`));
      if (!gzip.write(Buffer.concat(batch.splice(0))))
        await new Promise<void>((resolve) => gzip.once('drain', () => resolve()));
    }
    gzip.end(Buffer.alloc(1024));
    await done;
  },
  'big-rpm-header': async (dir) => {
    const { default: init } = await import('sql.js/dist/sql-wasm-inline.js');
    const SQL = await init();
    const db = new SQL.Database(
      readFileSync(path.join(DATA, 'pkgdbs/go-rpmdb/pkg/testdata/cbl-mariner-2.0/rpmdb.sqlite')),
    );
    db.run('INSERT INTO Packages (hnum, blob) VALUES (?, ?)', [1_000_000, hugeHeader(48 * MiB)]);
    const bytes = Buffer.from(db.export());
    db.close();
    await writeLayer(path.join(dir, 'layer-0.tar.gz'), [
      { name: 'var/lib/rpm/rpmdb.sqlite', content: bytes },
    ]);
  },
  'two-gb-image': async (dir) => {
    // Issue 18's memory target at size, from real files: four layers, about 2 GB in all.
    // Layer 1: four Spring Boot-style fat jars, each DynamoDB Local's real jar with its 164
    // real library jars nested under BOOT-INF/lib (about 64 MB a jar).
    const dynamo = path.join(PROJECT_ROOT, '.local/tools/dynamodb-local');
    const libs = readdirSync(path.join(dynamo, 'DynamoDBLocal_lib')).filter((f) =>
      f.endsWith('.jar'),
    );
    const fat = await zipOf({
      'BOOT-INF/classes/app.jar': readFileSync(path.join(dynamo, 'DynamoDBLocal.jar')),
      ...Object.fromEntries(
        libs.map((f) => [
          `BOOT-INF/lib/${f}`,
          readFileSync(path.join(dynamo, 'DynamoDBLocal_lib', f)),
        ]),
      ),
    });
    // Layer 2: 60 real Go executables (two esbuild releases, 8.6 and 11.4 MB, 30 copies each).
    const go = path.join(PROJECT_ROOT, '.local/tools/go-binaries');
    const executables = readdirSync(go).map((f) => readFileSync(path.join(go, f)));
    // Layer 3: one 1 GiB file of incompressible bytes (a model's weights, a database file).
    const random = (size: number) => ({
      size,
      async write(sink: (b: Buffer) => Promise<void>) {
        for (let left = size; left > 0; left -= MiB) await sink(randomBytes(Math.min(MiB, left)));
      },
    });
    await writeLayer(path.join(dir, 'layer-0.tar.gz'), alpine());
    await writeLayer(
      path.join(dir, 'layer-1.tar.gz'),
      [1, 2, 3, 4].map((i) => ({ name: `srv/app${i}/app.jar`, content: fat })),
    );
    await writeLayer(
      path.join(dir, 'layer-2.tar.gz'),
      Array.from({ length: 60 }, (_, i) => ({
        name: `usr/local/bin/tool${i}`,
        mode: 0o755,
        content: executables[i % executables.length] as Buffer,
      })),
    );
    await writeLayer(path.join(dir, 'layer-3.tar.gz'), [
      { name: 'opt/model/weights.bin', stream: random(1024 * MiB) },
    ]);
  },
  'big-sparse-elf': async (dir) => {
    const elf = readFileSync(
      path.join(PROJECT_ROOT, 'node_modules/@esbuild/linux-x64/bin/esbuild'),
    );
    const size = 500 * 1000 * 1000;
    await writeLayer(path.join(dir, 'layer-0.tar.gz'), [
      ...alpine(),
      {
        name: 'usr/local/bin/app',
        mode: 0o755,
        stream: {
          size,
          async write(sink) {
            await sink(elf);
            await zeros(size - elf.length).write(sink);
          },
        },
      },
    ]);
  },
};

/** In the child: inventories the image in `dir` and prints one JSON line. */
async function run(dir: string): Promise<void> {
  const started = process.hrtime.bigint();
  const layers = readdirSync(dir)
    .filter((f) => f.endsWith('.tar.gz'))
    .sort();
  const image: Image = {
    source: `hostile:${path.basename(dir)}`,
    platform: { os: 'linux', architecture: 'amd64' },
    config: { architecture: 'amd64', os: 'linux' } as Image['config'],
    layers: layers.map((f) => ({ open: async () => createReadStream(path.join(dir, f)) })),
  };
  const inventory = await buildInventory(image);
  const layerIssues = inventory.issues.filter(
    (i) => i.location.startsWith('layer ') || i.location === 'image',
  );
  console.log(
    JSON.stringify({
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      complete: inventory.complete,
      packages: inventory.packages.length,
      issues: inventory.issues.length,
      reason: layerIssues[0]?.message ?? inventory.issues[0]?.message,
    }),
  );
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const names = only.length > 0 ? only : Object.keys(BUILDERS);
  const self = fileURLToPath(import.meta.url);
  const rows: string[] = [];
  let failed = false;
  for (const name of names) {
    const build = BUILDERS[name];
    if (build === undefined)
      throw new Error(`no hostile image ${name}; known: ${Object.keys(BUILDERS).join(', ')}`);
    const dir = path.join(OUT, name);
    if (!existsSync(path.join(dir, 'layer-0.tar.gz'))) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      await build(dir);
    }
    const child = spawnSync(
      '/usr/bin/time',
      ['-f', '%M', process.execPath, ...HEAP, self, '--run', dir],
      {
        encoding: 'utf8',
        maxBuffer: 64 * MiB,
      },
    );
    const rssMb = Number(child.stderr.trim().split('\n').pop()) / 1024;
    const line = child.stdout.trim().split('\n').pop() ?? '';
    let result: { seconds: number; complete: boolean; packages: number; reason?: string };
    try {
      result = JSON.parse(line);
    } catch {
      failed = true;
      rows.push(
        `| ${name} | ${rssMb.toFixed(0)} | - | crashed | ${child.stderr.trim().split('\n').slice(-3, -1).join(' ')} |`,
      );
      continue;
    }
    const ok =
      rssMb <= RSS_TARGET_MB &&
      result.seconds <= SECONDS_TARGET &&
      (result.complete || result.reason !== undefined);
    failed ||= !ok;
    rows.push(
      `| ${name} | ${rssMb.toFixed(0)} | ${result.seconds.toFixed(1)} | ${result.complete ? 'complete' : 'incomplete'}, ${result.packages} packages | ${result.complete ? '' : (result.reason ?? '')} |${ok ? '' : ' **over target**'}`,
    );
  }
  console.log(
    `| image | peak RSS (MB) | seconds | ended | recorded reason |\n|---|---|---|---|---|\n${rows.join('\n')}`,
  );
  if (failed) process.exitCode = 1;
}

if (process.argv[2] === '--run') {
  run(process.argv[3] ?? '').catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
