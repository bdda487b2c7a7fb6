/**
 * Hostile registries and OCI layouts (issue 17 #4, #5, #6, #9, #10): each case is scanned by a
 * child process with the client's default options (as the scan function and the CLI run it),
 * and measured for wall time and peak RSS. Targets: <= 256 MB and <= 60 s each, ending complete
 * or with a recorded reason. The registries run on loopback in this process, serving a real
 * image (trivy's Alpine 3.10 files) with one answer changed; nothing reaches the internet.
 *
 *   npx tsx bench/hostile-registry.ts            # every case
 *   npx tsx bench/hostile-registry.ts CASE...    # some of them
 */
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openImageSource } from '../shared/image/open-source.js';
import { walkImage } from '../shared/inventory/walk.js';
import { readerId } from '../shared/layers/reader-id.js';
import { RegistryClient } from '../shared/registry/client.js';
import { type Descriptor, derivedFiles, LayoutWriter, tarOf } from '../test/support/oci.js';
import {
  type LayoutHook,
  type LayoutRegistry,
  startLayoutRegistry,
  trickle,
} from '../test/support/registry.js';

const RSS_TARGET_MB = 256;
const SECONDS_TARGET = 60;
const TEN_GIB = 10 * 1024 ** 3;

/** The scanning side, in its own process: prints one JSON line. */
async function child(input: string): Promise<void> {
  const started = process.hrtime.bigint();
  let outcome: string;
  try {
    const set = await openImageSource(input, () => new RegistryClient()).images();
    const reasons: string[] = set.skipped.length === 0 ? [] : [`${set.skipped.length} skipped`];
    for (const image of set.images) {
      const walk = await walkImage(image, () => false, {
        reader: readerId([{ id: 'bench/hostile-registry', version: 1 }]),
      });
      for (const layer of walk.layers)
        if (layer.error !== undefined) reasons.push(layer.error.message);
    }
    outcome =
      reasons.length === 0
        ? `complete: ${set.images.length} image(s)`
        : `incomplete: ${set.images.length} image(s); ${[...new Set(reasons)].join('; ')}`;
  } catch (error) {
    outcome = `refused: ${(error as Error).name}: ${(error as Error).message}`;
  }
  console.log(
    JSON.stringify({
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      outcome,
    }),
  );
}

interface Fixture {
  readonly layout: string;
  readonly image: Descriptor;
  readonly config: Descriptor;
  readonly layer: Descriptor;
}

/** Writes `chunk` for as long as the client reads. */
function endless(res: ServerResponse, chunk: Buffer): void {
  const more = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', more);
  };
  more();
}

interface Case {
  readonly name: string;
  /** The source the child scans, and what to stop after. */
  setup(f: Fixture, work: string): Promise<{ input: string; stop?: () => Promise<void> }>;
}

async function registryCase(
  f: Fixture,
  hook: LayoutHook,
  tag = 'app',
): Promise<{ input: string; stop: () => Promise<void> }> {
  const registry: LayoutRegistry = await startLayoutRegistry(f.layout, hook);
  return { input: `${registry.host}/bench/app:${tag}`, stop: () => registry.stop() };
}

const challenge = (res: ServerResponse, realm: string) =>
  res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="bench"` }).end();

const CASES: Case[] = [
  {
    name: 'trickling config blob (1 byte / 2 s)',
    setup: (f) =>
      registryCase(f, (req, res, r) => {
        if (!req.url?.includes(f.config.digest)) return false;
        trickle(res, r.content(f.config.digest)?.bytes ?? Buffer.alloc(0), 2_000);
        return true;
      }),
  },
  {
    name: 'trickling manifest (1 byte / 2 s)',
    setup: (f) =>
      registryCase(f, (req, res, r) => {
        if (!req.url?.includes('/manifests/')) return false;
        trickle(res, r.content('app')?.bytes ?? Buffer.alloc(0), 2_000);
        return true;
      }),
  },
  {
    name: 'trickling layer (1 byte / 2 s)',
    setup: (f) =>
      registryCase(f, (req, res, r) => {
        if (!req.url?.includes(f.layer.digest)) return false;
        trickle(res, r.content(f.layer.digest)?.bytes ?? Buffer.alloc(0), 2_000);
        return true;
      }),
  },
  {
    name: 'endless token endpoint',
    setup: (f) =>
      registryCase(f, (req, res, r) => {
        if (req.url?.startsWith('/token') === true) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"token":"');
          endless(res, Buffer.alloc(64 * 1024, 'a'));
          return true;
        }
        if (req.headers.authorization === 'Bearer tok') return false;
        challenge(res, `http://${r.host}/token`);
        return true;
      }),
  },
  {
    name: 'foreign Bearer realm (another loopback port)',
    async setup(f) {
      const foreign = await startLayoutRegistry(f.layout, (_req, res) => {
        res.writeHead(200).end('{"token":"tok"}');
        return true;
      });
      const main = await registryCase(f, (req, res) => {
        if (req.headers.authorization === 'Bearer tok') return false;
        challenge(res, `http://${foreign.host}/token`);
        return true;
      });
      return {
        input: main.input,
        async stop() {
          await main.stop();
          if (foreign.requests.length > 0)
            throw new Error(`the foreign realm got ${foreign.requests.length} request(s)`);
          await foreign.stop();
        },
      };
    },
  },
  {
    name: 'blob redirect to the instance metadata address',
    setup: (f) =>
      registryCase(f, (req, res) => {
        if (!req.url?.includes('/blobs/')) return false;
        res
          .writeHead(307, {
            location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
          })
          .end();
        return true;
      }),
  },
  {
    name: 'manifest claiming a 10 GiB layer, served without end',
    setup: (f) =>
      registryCase(f, (req, res, r) => {
        if (req.url?.includes('/manifests/') === true) {
          const found = r.content('app');
          const doc = JSON.parse(found?.bytes.toString('utf8') ?? '{}') as {
            layers: { size: number }[];
          };
          (doc.layers[0] as { size: number }).size = TEN_GIB;
          res.writeHead(200, { 'content-type': found?.mediaType ?? '' }).end(JSON.stringify(doc));
          return true;
        }
        if (!req.url?.includes(f.layer.digest)) return false;
        res.writeHead(200, { 'content-length': String(TEN_GIB) });
        endless(res, Buffer.alloc(1024 * 1024));
        return true;
      }),
  },
  {
    name: 'layer whose Content-Length says 10 GiB, served without end',
    setup: (f) =>
      registryCase(f, (req, res) => {
        if (!req.url?.includes(f.layer.digest)) return false;
        res.writeHead(200, { 'content-length': String(TEN_GIB) });
        endless(res, Buffer.alloc(1024 * 1024));
        return true;
      }),
  },
  {
    name: 'index fan-out: 4 nested levels of 10 (1,110 distinct indexes, 10,000 image entries)',
    async setup(f) {
      const w = new LayoutWriter(f.layout);
      const indexOf = (manifests: readonly Descriptor[], n: string) =>
        w.blob(
          Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: 'application/vnd.oci.image.index.v1+json',
              manifests,
              annotations: { n },
            }),
          ),
          'application/vnd.oci.image.index.v1+json',
        );
      const leaf = f.image;
      let level: Descriptor[] = Array.from({ length: 1000 }, (_, i) =>
        indexOf(
          Array.from({ length: 10 }, () => leaf),
          `3-${i}`,
        ),
      );
      for (const [depth, count] of [
        [2, 100],
        [1, 10],
      ] as const) {
        const below = level;
        level = Array.from({ length: count }, (_, i) =>
          indexOf(below.slice(i * 10, i * 10 + 10), `${depth}-${i}`),
        );
      }
      const top = indexOf(level, 'top');
      const registry = await startLayoutRegistry(f.layout);
      return {
        input: `${registry.host}/bench/app@${top.digest}`,
        async stop() {
          const manifests = registry.requests.filter((q) => q.url.includes('/manifests/')).length;
          console.error(`    (${manifests} manifest requests)`);
          await registry.stop();
        },
      };
    },
  },
  {
    name: 'index of 256 manifests, each trickling (1 byte / 100 ms)',
    async setup(f) {
      const w = new LayoutWriter(f.layout);
      const children = Array.from({ length: 256 }, (_, i) =>
        w.index([{ ...f.image, annotations: { n: String(i) } }]),
      );
      const top = w.index(children);
      const registry = await startLayoutRegistry(f.layout, (req, res, r) => {
        const m = /\/manifests\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '');
        if (m === null || m[1] === top.digest) return false;
        trickle(res, r.content(m[1] as string)?.bytes ?? Buffer.alloc(0), 100);
        return true;
      });
      return { input: `${registry.host}/bench/app@${top.digest}`, stop: () => registry.stop() };
    },
  },
  {
    name: 'oci: layout with oci-layout -> /dev/zero',
    async setup(f, work) {
      const dir = path.join(work, 'dev-zero');
      cpSync(f.layout, dir, { recursive: true });
      rmSync(path.join(dir, 'oci-layout'));
      symlinkSync('/dev/zero', path.join(dir, 'oci-layout'));
      return { input: `oci:${dir}` };
    },
  },
  {
    name: 'oci: layout with a FIFO index.json',
    async setup(f, work) {
      const dir = path.join(work, 'fifo');
      cpSync(f.layout, dir, { recursive: true });
      rmSync(path.join(dir, 'index.json'));
      const { execFileSync } = await import('node:child_process');
      execFileSync('mkfifo', [path.join(dir, 'index.json')]);
      return { input: `oci:${dir}` };
    },
  },
  {
    name: 'oci: layout with the config blob -> /etc/shadow',
    async setup(f, work) {
      const dir = path.join(work, 'shadow');
      cpSync(f.layout, dir, { recursive: true });
      const config = path.join(dir, 'blobs/sha256', f.config.digest.slice(7));
      rmSync(config);
      symlinkSync(existsSync('/etc/shadow') ? '/etc/shadow' : '/etc/passwd', config);
      return { input: `oci:${dir}` };
    },
  },
];

function runChild(input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', input],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    // A child still running after twice the target is a failed case, not a hung benchmark.
    const killer = setTimeout(() => proc.kill('SIGKILL'), 2 * SECONDS_TARGET * 1000);
    proc.on('exit', (code) => {
      clearTimeout(killer);
      if (code === 0) resolve(out.trim().split('\n').at(-1) ?? '');
      else reject(new Error(`child exited with ${code}`));
    });
  });
}

async function main(only: readonly string[]): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'bosun-bench-hostile-registry-'));
  try {
    const layout = path.join(work, 'layout');
    const w = new LayoutWriter(layout);
    const image = w.image({
      architecture: 'amd64',
      layers: [await tarOf(derivedFiles('alpine-310'))],
    });
    w.finish(image, 'app');
    const manifest = JSON.parse(
      readFileSync(path.join(layout, 'blobs/sha256', image.digest.slice(7)), 'utf8'),
    ) as { config: Descriptor; layers: Descriptor[] };
    const fixture: Fixture = {
      layout,
      image,
      config: manifest.config,
      layer: manifest.layers[0] as Descriptor,
    };
    const rows: { name: string; seconds: number; maxRssMB: number; outcome: string }[] = [];
    for (const c of CASES) {
      if (only.length > 0 && !only.some((o) => c.name.includes(o))) continue;
      const { input, stop } = await c.setup(fixture, work);
      let row: { seconds: number; maxRssMB: number; outcome: string };
      try {
        row = JSON.parse(await runChild(input)) as typeof row;
      } catch (error) {
        row = { seconds: Number.NaN, maxRssMB: Number.NaN, outcome: `FAILED: ${error}` };
      }
      await stop?.();
      const ok =
        row.maxRssMB <= RSS_TARGET_MB &&
        row.seconds <= SECONDS_TARGET &&
        !row.outcome.startsWith('FAILED');
      console.error(
        `${ok ? 'ok  ' : 'MISS'} ${c.name}: ${row.seconds.toFixed(1)} s, ${row.maxRssMB.toFixed(0)} MB; ${row.outcome}`,
      );
      rows.push({ name: c.name, ...row });
    }
    writeFileSync(path.join(work, 'results.json'), JSON.stringify(rows));
    console.log(
      JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2),
    );
    if (
      rows.some(
        (r) =>
          !(r.maxRssMB <= RSS_TARGET_MB && r.seconds <= SECONDS_TARGET) ||
          r.outcome.startsWith('FAILED'),
      )
    )
      process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  child(args[1] ?? '').catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main(args).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
