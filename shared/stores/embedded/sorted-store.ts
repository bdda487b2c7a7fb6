/**
 * A sorted key-value store in one folder, opened in milliseconds whatever its size: a small
 * log of recent changes (log-file.ts, held in memory) above immutable sorted segments
 * (segment.ts), of which only the blocks a lookup needs are read. The shape of a log-structured
 * merge tree (O'Neil et al., 1996), kept minimal: one writer, readers at any time.
 *
 * Why our own files and not an embedded database: the access pattern is simple (point lookups,
 * prefix scans, batches applied whole, one writer), the CLI ships as plain JavaScript with no
 * platform binaries (a native module would tie the package to prebuilt binaries per platform,
 * or to a compiler on the user's machine), and readers must run beside a writer (`bosun scan`
 * during `bosun db sync`), which LevelDB's single-process lock forbids.
 *
 * Files, for a store named `advisories`:
 *   advisories.manifest  JSON naming the current log and the segments, oldest first; replaced
 *                        by rename, so a reader sees one whole version of it
 *   advisories-<n>.log   the log; a batch is committed whole or not at all (log-file.ts)
 *   advisories-<n>.seg   segments
 *   advisories.lock      the writer's lock
 * A folder with only `advisories.log` (before segments) is read as that log and no segments.
 *
 * When the log holds more than `flushBytes` it is written out as a new segment and a new log
 * begins; segments of one size tier are merged FAN_IN at a time, so every key is rewritten
 * about log4(size / flushBytes) times in all, and a store holds a few segments per tier.
 * Files a new manifest no longer names are deleted; a reader that had them open keeps reading
 * them (POSIX keeps an unlinked file's data while it is open).
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { type LogChange, LogFile, lock, StoreFormatError, unlock } from './log-file.js';
import { groupOf, mergeSorted, Segment, type SegmentEntry, writeSegment } from './segment.js';

/** The log is written out as a segment past this many bytes of keys and values. */
const FLUSH_BYTES = 32 * 1024 * 1024;
/** A writer that closes with more than this in its log writes it out: readers open faster. */
const CLOSE_FLUSH_BYTES = 1024 * 1024;
/** Segments of one size tier merged at once. */
const FAN_IN = 4;
/** A reader retries when the writer replaced the files it was opening. */
const OPEN_ATTEMPTS = 10;

interface Manifest {
  readonly v: 1;
  readonly log: string;
  readonly segments: readonly string[];
  /** Number for the next file. */
  readonly next: number;
}

export interface SortedStoreOptions {
  /** Log bytes that trigger a flush (tests make it small to exercise segments). */
  readonly flushBytes?: number;
  /** A writer closing with more than this in its log writes it out (CLOSE_FLUSH_BYTES). */
  readonly closeFlushBytes?: number;
}

function writeDurably(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(path.dirname(file), 'r');
  fsyncSync(dir);
  closeSync(dir);
}

export class SortedStore {
  private manifest: Manifest;
  private log: LogFile;
  /** Oldest first, as the manifest lists them. */
  private segments: Segment[];
  private readonly flushBytes: number;
  private readonly closeFlushBytes: number;

  private constructor(
    private readonly dir: string,
    private readonly name: string,
    private readonly lockFile: string | undefined,
    opened: { manifest: Manifest; log: LogFile; segments: Segment[] },
    options: SortedStoreOptions,
  ) {
    this.manifest = opened.manifest;
    this.log = opened.log;
    this.segments = opened.segments;
    this.flushBytes = options.flushBytes ?? FLUSH_BYTES;
    this.closeFlushBytes = options.closeFlushBytes ?? CLOSE_FLUSH_BYTES;
  }

  /** Opens the store `name` in `dir` (created if missing); `read` mode takes no lock. */
  static open(
    dir: string,
    name: string,
    mode: 'read' | 'write' = 'write',
    options: SortedStoreOptions = {},
  ): SortedStore {
    mkdirSync(dir, { recursive: true });
    if (mode === 'write') {
      const lockFile = lock(dir, name);
      try {
        const opened = SortedStore.load(dir, name, true);
        const store = new SortedStore(dir, name, lockFile, opened, options);
        store.removeStrays();
        return store;
      } catch (error) {
        unlock(lockFile);
        throw error;
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return new SortedStore(dir, name, undefined, SortedStore.load(dir, name, false), options);
      } catch (error) {
        // The writer replaced a file between our reading the manifest and opening it.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= OPEN_ATTEMPTS)
          throw error;
      }
    }
  }

  private static manifestFile(dir: string, name: string): string {
    return path.join(dir, `${name}.manifest`);
  }

  private static load(
    dir: string,
    name: string,
    write: boolean,
  ): { manifest: Manifest; log: LogFile; segments: Segment[] } {
    const file = SortedStore.manifestFile(dir, name);
    let manifest: Manifest;
    if (existsSync(file)) {
      try {
        manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
      } catch (error) {
        throw new StoreFormatError(`${file}: not a store manifest`, { cause: error });
      }
      if (manifest.v !== 1 || typeof manifest.log !== 'string' || !Array.isArray(manifest.segments))
        throw new StoreFormatError(`${file}: manifest format ${String(manifest.v)} is not known`);
      // A reader that found the manifest must find its log: a missing one was flushed and
      // replaced after the manifest was read (retried), never an empty store.
      if (!write && !existsSync(path.join(dir, manifest.log)))
        throw Object.assign(new Error(`${manifest.log} was replaced`), { code: 'ENOENT' });
    } else {
      manifest = { v: 1, log: `${name}.log`, segments: [], next: 1 };
    }
    const segments: Segment[] = [];
    try {
      for (const s of manifest.segments) segments.push(Segment.open(path.join(dir, s)));
      const log = LogFile.openFile(path.join(dir, manifest.log), {
        write,
        tombstones: true,
        autoCompact: false,
      });
      return { manifest, log, segments };
    } catch (error) {
      for (const s of segments) s.close();
      throw error;
    }
  }

  /** Files of this store the manifest does not name: left by a writer that stopped mid-way. */
  private removeStrays(): void {
    const named = new Set([this.manifest.log, ...this.manifest.segments]);
    const ours = new RegExp(
      `^${this.name.replace(/[^\w]/g, '\\$&')}(-\\d+\\.(log|seg)|\\.log)(\\.tmp)?$`,
    );
    for (const f of readdirSync(this.dir))
      if (ours.test(f) && !named.has(f)) rmSync(path.join(this.dir, f), { force: true });
    rmSync(`${SortedStore.manifestFile(this.dir, this.name)}.tmp`, { force: true });
  }

  /** The value's JSON text, or undefined. */
  raw(key: string): string | undefined {
    const logged = this.log.state(key);
    if (logged !== undefined) return logged ?? undefined;
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const found = (this.segments[i] as Segment).get(key);
      if (found !== undefined) return found ?? undefined;
    }
    return undefined;
  }

  get<T>(key: string): T | undefined {
    const raw = this.raw(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  /**
   * Live entries whose keys start with `prefix`, in key order, values as JSON text. A prefix
   * that ends a group (a NUL) skips the segments whose Bloom filter rules the group out.
   */
  *scan(prefix: string): IterableIterator<readonly [string, string]> {
    const grouped = prefix.endsWith('\u0000') && groupOf(prefix) === prefix;
    const sources: Iterator<SegmentEntry>[] = [this.log.entries(prefix)[Symbol.iterator]()];
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const segment = this.segments[i] as Segment;
      if (!grouped || segment.mayHave(prefix)) sources.push(segment.scan(prefix));
    }
    for (const [key, value] of mergeSorted(sources)) if (value !== null) yield [key, value];
  }

  /** Live keys starting with `prefix`, in key order. */
  keys(prefix = ''): string[] {
    return [...this.scan(prefix)].map(([k]) => k);
  }

  /** Whether any live key starts with `prefix`. */
  some(prefix: string): boolean {
    return !this.scan(prefix).next().done;
  }

  /** Applies puts (`[key, value]`) and deletes (`[key]`) as one durable batch. */
  commit(changes: readonly LogChange[]): void {
    this.log.commit(changes);
    if (this.log.bytes >= this.flushBytes) this.flush();
  }

  /** Writes the log out as a segment and starts a new log, then merges what a tier fills. */
  flush(): void {
    if (this.lockFile === undefined) throw new Error(`${this.name} is open read-only`);
    const entries = this.log.entries();
    if (entries.length === 0) return;
    let next = this.manifest.next;
    const segmentName = `${this.name}-${next++}.seg`;
    const logName = `${this.name}-${next++}.log`;
    // Deletions only matter above older segments.
    const kept = this.segments.length === 0 ? entries.filter(([, v]) => v !== null) : entries;
    writeSegment(path.join(this.dir, segmentName), kept, kept.length);
    const segment = Segment.open(path.join(this.dir, segmentName));
    writeFileSync(path.join(this.dir, logName), '');
    const manifest: Manifest = {
      v: 1,
      log: logName,
      segments: [...this.manifest.segments, segmentName],
      next,
    };
    this.install(manifest);
    const oldLog = this.log;
    oldLog.close();
    rmSync(oldLog.file, { force: true });
    this.segments.push(segment);
    this.log = LogFile.openFile(path.join(this.dir, logName), {
      write: true,
      tombstones: true,
      autoCompact: false,
    });
    this.mergeTiers();
  }

  private install(manifest: Manifest): void {
    writeDurably(SortedStore.manifestFile(this.dir, this.name), JSON.stringify(manifest));
    this.manifest = manifest;
  }

  /** The size tier of a segment: 0 up to FAN_IN flushes' worth, then one per factor FAN_IN. */
  private tier(segment: Segment): number {
    return Math.floor(Math.log(Math.max(1, segment.bytes / this.flushBytes)) / Math.log(FAN_IN));
  }

  /** Merges the newest segments while FAN_IN of them share the newest one's tier or a lower one. */
  private mergeTiers(): void {
    for (;;) {
      const n = this.segments.length;
      if (n < FAN_IN) return;
      const top = this.tier(this.segments[n - 1] as Segment);
      let from = n - 1;
      while (from > 0 && this.tier(this.segments[from - 1] as Segment) <= top) from--;
      if (n - from < FAN_IN) return;
      this.merge(from);
    }
  }

  /** Replaces segments `from`.. (the newest) by one. */
  private merge(from: number): void {
    const inputs = this.segments.slice(from);
    let next = this.manifest.next;
    const name = `${this.name}-${next++}.seg`;
    const merged = mergeSorted(inputs.map((s) => s.scan('')).reverse());
    // Merged into the oldest segment, deletions have nothing left to hide.
    const entries =
      from === 0
        ? (function* () {
            for (const e of merged) if (e[1] !== null) yield e;
          })()
        : merged;
    writeSegment(
      path.join(this.dir, name),
      entries,
      inputs.reduce((n, s) => n + s.entries, 0),
    );
    const segment = Segment.open(path.join(this.dir, name));
    this.install({
      v: 1,
      log: this.manifest.log,
      segments: [...this.manifest.segments.slice(0, from), name],
      next,
    });
    for (const s of inputs) {
      s.close();
      rmSync(s.file, { force: true });
    }
    this.segments = [...this.segments.slice(0, from), segment];
  }

  /** Segment files and their sizes, oldest first (for status and benchmarks). */
  files(): { readonly log: string; readonly segments: readonly { file: string; bytes: number }[] } {
    return {
      log: this.manifest.log,
      segments: this.segments.map((s) => ({ file: path.basename(s.file), bytes: s.bytes })),
    };
  }

  close(): void {
    try {
      if (this.lockFile !== undefined && this.log.bytes > this.closeFlushBytes) this.flush();
    } finally {
      this.log.close();
      for (const s of this.segments) s.close();
      this.segments = [];
      if (this.lockFile !== undefined) unlock(this.lockFile);
    }
  }
}
