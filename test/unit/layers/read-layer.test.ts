import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { ImageBudget } from '../../../shared/layers/budget.js';
import {
  BudgetExceededError,
  CorruptLayerError,
  DecompressionBombError,
  FileTooLargeError,
  LayerTooLargeError,
  TooManyEntriesError,
  UnsafePathError,
} from '../../../shared/layers/errors.js';
import {
  FileScanner,
  HEAD_BYTES,
  normalizeEntryPath,
  readLayer,
} from '../../../shared/layers/reader.js';
import { dataDir } from '../../support/fixtures.js';
import { compress, sha256, tarOf, zstdCompress } from '../../support/oci.js';

const ALPINE = path.join(dataDir(), 'pkgdbs/trivy/derived/alpine-310');
const realFiles = [
  { path: 'etc/', type: 'directory' as const },
  { path: 'etc/os-release', content: readFileSync(path.join(ALPINE, 'etc/os-release')) },
  { path: 'etc/alpine-release', content: readFileSync(path.join(ALPINE, 'etc/alpine-release')) },
  {
    path: 'lib/apk/db/installed',
    content: readFileSync(path.join(ALPINE, 'lib/apk/db/installed')),
  },
  { path: 'bin/sh', type: 'symlink' as const, linkname: '/bin/busybox' },
];
const wantsOsRelease = (e: { path: string }) =>
  e.path === 'etc/os-release' || e.path === 'lib/apk/db/installed';
const opts = { what: 'test layer' };

describe('readLayer', () => {
  it.each(['none', 'gzip', 'zstd'] as const)(
    'reads a %s layer, returning every entry and only the asked-for contents',
    async (compression) => {
      const tarball = await tarOf(realFiles);
      const stored = compress(tarball, compression);
      const result = await readLayer(Readable.from([stored]), wantsOsRelease, opts);
      expect(result.stats.compression).toBe(compression);
      expect(result.stats.decompressedBytes).toBe(tarball.length);
      expect(result.entries.map((e) => [e.path, e.type])).toEqual([
        ['etc', 'dir'],
        ['etc/os-release', 'file'],
        ['etc/alpine-release', 'file'],
        ['lib/apk/db/installed', 'file'],
        ['bin/sh', 'symlink'],
      ]);
      expect([...result.contents.keys()]).toEqual(['etc/os-release', 'lib/apk/db/installed']);
      expect(result.contents.get('etc/os-release')?.toString()).toContain('VERSION_ID=3.10');
      expect(result.entries.find((e) => e.path === 'bin/sh')?.linkname).toBe('/bin/busybox');
      expect(result.issues).toEqual([]);
    },
  );

  it('hands each scanned file whole to the scan, through one buffer reused between files', async () => {
    // Real executables of this machine: small, then larger (the buffer grows), then small
    // again (a shorter file in the larger buffer), with a script that the head check turns
    // away between them.
    const tru = readFileSync('/bin/true');
    const ls = readFileSync('/bin/ls');
    const cat = readFileSync('/bin/cat');
    expect(tru.length).toBeLessThan(ls.length);
    expect(cat.length).toBeLessThan(ls.length);
    const files = [
      { path: 'bin/true', content: tru, mode: 0o755 },
      { path: 'bin/ls', content: ls, mode: 0o755 },
      { path: 'bin/script', content: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
      { path: 'bin/cat', content: cat, mode: 0o755 },
    ];
    const seen: string[] = [];
    const result = await readLayer(Readable.from([gzipSync(await tarOf(files))]), () => false, {
      ...opts,
      scan: {
        wants: (e) => (e.mode & 0o111) !== 0,
        head: (_e, first) => first.subarray(0, 4).toString('latin1') === '\x7fELF',
        read: async (e, content) => {
          seen.push(e.path);
          // What a scan keeps must be its own copy: here, a digest of the content.
          return sha256(content);
        },
      },
    });
    expect(seen).toEqual(['bin/true', 'bin/ls', 'bin/cat']);
    expect(Object.fromEntries(result.facts ?? [])).toEqual({
      'bin/ls': sha256(ls),
      'bin/true': sha256(tru),
      'bin/cat': sha256(cat),
    });
  });

  it('hands a scanned file over 64 MiB whole and exact, its zero blocks never copied', async () => {
    // Issue 17 #7: a 500 MB sparse executable was held as 655 MB. Large scanned files go into
    // zeroed memory whose all-zero blocks are skipped; the bytes handed over must not change.
    const size = 80 * 1024 * 1024 + 123;
    const file = Buffer.alloc(size);
    readFileSync('/bin/true').copy(file, 0);
    for (const at of [4095, 4096 * 1000 + 7, 65 * 1024 * 1024 + 1, size - 10])
      file.write('data island', Math.min(at, size - 11));
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
    pack.entry({ name: 'usr/bin/sparse', size, mode: 0o755, mtime: new Date(0) }, file);
    pack.finalize();
    await done;
    let handed: string | undefined;
    await readLayer(Readable.from(chunks), () => false, {
      ...opts,
      scan: {
        wants: (e) => e.path === 'usr/bin/sparse',
        read: async (_e, content) => {
          handed = sha256(content);
          return undefined;
        },
      },
    });
    expect(handed).toBe(sha256(file));
  });

  it('judges scanned files by ranges across the pieces they came in, and drops uncopied what `needs` turns away', async () => {
    const ls = readFileSync('/bin/ls');
    const cat = readFileSync('/bin/cat');
    const tarball = await tarOf([
      { path: 'bin/ls', content: ls, mode: 0o755 },
      { path: 'bin/cat', content: cat, mode: 0o755 },
    ]);
    const cut = 512 + 2;
    const pieces = [tarball.subarray(0, cut)];
    for (let at = cut; at < tarball.length; at += 1000)
      pieces.push(tarball.subarray(at, at + 1000));
    const heads: Record<string, number> = {};
    const judged: Record<string, string> = {};
    const read: Record<string, string> = {};
    await readLayer(Readable.from(pieces), () => false, {
      ...opts,
      scan: {
        wants: (e) => (e.mode & 0o111) !== 0,
        head: (e, first) => {
          heads[e.path] = first.length;
          return first.subarray(0, 4).toString('latin1') === '\x7fELF';
        },
        needs: (e, file) => {
          // Asked first with the first bytes in: cannot tell yet, so the file is held.
          if (file.size < file.total) {
            expect(file.bytes(file.total - 1, 1)).toBeUndefined();
            return undefined;
          }
          // Ranges across the 1000-byte pieces, as a section table read would take them.
          const tail = file.bytes(file.size - 1500, 1500) as Buffer;
          judged[e.path] = sha256(Buffer.concat([file.bytes(0, 4000) as Buffer, tail]));
          return e.path === 'bin/ls';
        },
        read: async (e, content) => {
          read[e.path] = sha256(content);
          return undefined;
        },
      },
    });
    expect(heads['bin/ls']).toBeGreaterThanOrEqual(HEAD_BYTES);
    expect(heads['bin/cat']).toBeGreaterThanOrEqual(HEAD_BYTES);
    expect(judged).toEqual({
      'bin/ls': sha256(Buffer.concat([ls.subarray(0, 4000), ls.subarray(-1500)])),
      'bin/cat': sha256(Buffer.concat([cat.subarray(0, 4000), cat.subarray(-1500)])),
    });
    expect(read).toEqual({ 'bin/ls': sha256(ls) });
  });

  it('shows the scan the first HEAD_BYTES of a file when a chunk boundary cuts its ELF magic in two', async () => {
    // The decompressor's chunks end anywhere: a file whose data starts 2 bytes before one ends
    // arrives as "\x7fE", then the rest. Judged on that piece alone, a real executable was
    // taken for something else and its packages were never read.
    const ls = readFileSync('/bin/ls');
    async function* chunks() {
      yield ls.subarray(0, 2);
      for (let at = 2; at < ls.length; at += 3000) yield ls.subarray(at, at + 3000);
    }
    let first: number | undefined;
    const scanner = new FileScanner({
      wants: () => true,
      head: (_e, head) => {
        first = head.length;
        return head.subarray(0, 4).toString('latin1') === '\x7fELF';
      },
      read: async (_e, content) => sha256(content),
    });
    const fact = await scanner.scan(chunks(), {
      path: 'bin/ls',
      type: 'file',
      size: ls.length,
      mode: 0o755,
    });
    expect(first).toBeGreaterThanOrEqual(HEAD_BYTES);
    expect(fact).toBe(sha256(ls));
  });

  it('copies as it streams a file `needs` says yes to from its first bytes, and drops one it says no to', async () => {
    const ls = readFileSync('/bin/ls');
    async function* chunks() {
      for (let at = 0; at < ls.length; at += 5000) yield ls.subarray(at, at + 5000);
    }
    const entry = { path: 'bin/ls', type: 'file' as const, size: ls.length, mode: 0o755 };
    for (const early of [true, false]) {
      const asked: number[] = [];
      const fact = await new FileScanner({
        wants: () => true,
        needs: (_e, file) => {
          asked.push(file.size);
          return early;
        },
        read: async (_e, content) => sha256(content),
      }).scan(chunks(), entry);
      // Asked once, with the first 10,000 bytes (two pieces), never with the whole file.
      expect(asked).toEqual([10_000]);
      expect(fact).toBe(early ? sha256(ls) : undefined);
    }
  });

  it('records whiteouts and opaque directories instead of entries', async () => {
    const tarball = await tarOf([
      { path: 'etc/.wh.motd' },
      { path: 'var/cache/apk/.wh..wh..opq' },
      { path: '.wh.tmp' },
      { path: 'etc/hostname', content: 'bosun\n' },
    ]);
    const result = await readLayer(Readable.from([tarball]), () => false, opts);
    expect(result.whiteouts).toEqual(['etc/motd', 'tmp']);
    expect(result.opaqueDirs).toEqual(['var/cache/apk']);
    expect(result.entries.map((e) => e.path)).toEqual(['etc/hostname']);
  });

  it('skips entries that climb out of the root or are absolute, naming them, and reads the rest', async () => {
    const tarball = await tarOf([
      { path: '../../etc/passwd', content: 'root::0:0::/:/bin/sh\n' },
      { path: '/etc/shadow', content: 'root:*:1::::::\n' },
      { path: 'usr/../../escape', content: 'x' },
      { path: 'etc/evil-link', type: 'link', linkname: '../../../etc/passwd' },
      { path: 'etc/os-release', content: 'ID=alpine\n' },
    ]);
    const result = await readLayer(Readable.from([tarball]), () => true, opts);
    expect(result.entries.map((e) => e.path)).toEqual(['etc/os-release']);
    expect(result.issues).toHaveLength(4);
    for (const issue of result.issues) expect(issue).toBeInstanceOf(UnsafePathError);
    expect(result.issues.map((i) => i.message)).toEqual([
      'path climbs out of the image root: "../../etc/passwd"',
      'absolute path in tar entry: "/etc/shadow"',
      'path climbs out of the image root: "usr/../../escape"',
      'path climbs out of the image root: "../../../etc/passwd"',
    ]);
  });

  it('does not read a file over the per-file cap, records why, and goes on', async () => {
    const tarball = await tarOf([
      { path: 'big', content: Buffer.alloc(4096, 1) },
      { path: 'small', content: 'ok' },
    ]);
    const result = await readLayer(Readable.from([tarball]), () => true, {
      ...opts,
      limits: { maxFileBytes: 1024 },
    });
    expect([...result.contents.keys()]).toEqual(['small']);
    expect(result.issues[0]).toBeInstanceOf(FileTooLargeError);
    expect(result.issues[0]?.message).toBe(
      'test layer: big is 4096 bytes, over the 1024-byte read limit',
    );
  });

  it('stops a decompression bomb of repeated data at the ratio limit', async () => {
    const tarball = await tarOf([{ path: 'bomb', content: Buffer.alloc(16 * 1024 * 1024, 'A') }]);
    const bomb = gzipSync(tarball, { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    const error = await readLayer(Readable.from([bomb]), () => false, {
      ...opts,
      limits: { ratioFloorBytes: 1024 * 1024 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecompressionBombError);
    expect((error as Error).message).toMatch(
      /^test layer: \d+ bytes of data \(\d+ in all\) decompressed from \d+: over the 100:1 ratio limit$/,
    );
  });

  it('reads a real layer holding a 200 MiB zero-filled file (a sparse lastlog) whole, with its packages', async () => {
    // Issue 17 #8: the 100:1 ratio rule rejected such a layer and its packages were lost.
    // Zeros are left out of the ratio; the layer streams through gzip, never held whole.
    const pack = tar.pack();
    const gzipped: Buffer[] = [];
    const gzip = createGzip();
    gzip.on('data', (c: Buffer) => gzipped.push(c));
    const done = new Promise((resolve) => gzip.on('end', resolve));
    pack.pipe(gzip);
    for (const f of realFiles)
      if (f.content !== undefined) pack.entry({ name: f.path, mtime: new Date(0) }, f.content);
    const lastlog = 200 * 1024 * 1024;
    const entry = pack.entry({ name: 'var/log/lastlog', size: lastlog, mtime: new Date(0) });
    const zeros = Buffer.alloc(1024 * 1024);
    for (let written = 0; written < lastlog; written += zeros.length)
      if (!entry.write(zeros))
        await new Promise<void>((resolve) => entry.once('drain', () => resolve()));
    entry.end(Buffer.alloc(0));
    pack.finalize();
    await done;
    const layer = Buffer.concat(gzipped);
    expect(layer.length * 100).toBeLessThan(lastlog);
    const result = await readLayer(Readable.from([layer]), wantsOsRelease, opts);
    expect(result.entries.find((e) => e.path === 'var/log/lastlog')?.size).toBe(lastlog);
    expect(result.contents.get('lib/apk/db/installed')?.toString()).toContain('P:musl');
    expect(result.stats.decompressedBytes).toBeGreaterThan(lastlog);
  });

  it('stops a bomb of zeros at the image budget, keeping what was read before it', async () => {
    const tarball = await tarOf([
      { path: 'etc/os-release', content: 'ID=alpine\n' },
      { path: 'zeros', content: Buffer.alloc(32 * 1024 * 1024) },
      { path: 'after', content: 'never read' },
    ]);
    const budget = new ImageBudget({ maxImageDecompressedBytes: 8 * 1024 * 1024 });
    const result = await readLayer(Readable.from([gzipSync(tarball)]), () => true, {
      ...opts,
      budget,
    });
    expect(result.incomplete).toBeInstanceOf(BudgetExceededError);
    expect(result.incomplete?.message).toBe(
      'the image decompresses to more than 8388608 bytes; reading stopped',
    );
    expect(result.contents.get('etc/os-release')?.toString()).toBe('ID=alpine\n');
    expect(result.entries.map((e) => e.path)).not.toContain('after');
  });

  it('stops at the decompressed size limit', async () => {
    const tarball = await tarOf([{ path: 'f', content: Buffer.alloc(256 * 1024, 7) }]);
    const error = await readLayer(Readable.from([tarball]), () => false, {
      ...opts,
      limits: { maxLayerBytes: 100_000 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LayerTooLargeError);
    expect((error as Error).message).toBe('test layer: more than 100000 decompressed bytes');
  });

  it('stops at the entry-count limit', async () => {
    const tarball = await tarOf(Array.from({ length: 50 }, (_, i) => ({ path: `f${i}` })));
    const error = await readLayer(Readable.from([tarball]), () => false, {
      ...opts,
      limits: { maxEntries: 10 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManyEntriesError);
    expect((error as Error).message).toBe('test layer: more than 10 entries');
  });

  it('rejects truncated gzip, corrupt zstd, a truncated tar and data that is not tar', async () => {
    const tarball = await tarOf(realFiles);
    const gz = gzipSync(tarball);
    const zst = zstdCompress(tarball);
    const corruptZstd = Buffer.from(zst);
    corruptZstd.fill(0xff, 20, 60);
    const cases: [string, Buffer, RegExp][] = [
      [
        'truncated gzip',
        gz.subarray(0, gz.length - 40),
        /test layer: corrupt or truncated gzip data/,
      ],
      [
        'corrupt zstd',
        corruptZstd,
        /test layer: (truncated or )?corrupt zstd data|test layer: truncated zstd data|not a valid tar stream/,
      ],
      [
        'truncated zstd',
        zst.subarray(0, zst.length - 30),
        /test layer: (truncated or corrupt zstd data|truncated zstd data)/,
      ],
      ['truncated tar', tarball.subarray(0, 700), /test layer: not a valid tar stream/],
      [
        'not tar',
        Buffer.from('{"this": "is json, not a layer"}'.repeat(40)),
        /test layer: not a valid tar stream/,
      ],
    ];
    for (const [name, data, message] of cases) {
      const error = await readLayer(Readable.from([data]), () => true, opts).catch(
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(CorruptLayerError);
      expect((error as Error).message, name).toMatch(message);
    }
  });
});

describe('normalizeEntryPath', () => {
  it('keeps paths inside the root and refuses the rest', () => {
    expect(normalizeEntryPath('./etc//apk/./world')).toBe('etc/apk/world');
    expect(normalizeEntryPath('usr/lib/../share')).toBe('usr/share');
    expect(() => normalizeEntryPath('/abs')).toThrow(UnsafePathError);
    expect(() => normalizeEntryPath('a/../../b')).toThrow(UnsafePathError);
  });
});
