/**
 * A key-value file for the embedded stores: one process writes, the whole live set is held in
 * memory (as JSON strings, parsed by the caller when needed), and every change is appended to
 * one log file.
 *
 * Why a log: a batch of puts and deletes is appended as lines followed by a commit line and
 * then fsync'd. A crash can only leave an uncommitted tail, which the next open ignores and
 * truncates, so a batch is applied whole or not at all and nothing committed is lost. When the
 * file holds more than twice the live data it is rewritten to a temporary file and renamed over
 * the old one (rename is atomic on POSIX file systems).
 *
 * Line format (keys and values are JSON, so they hold no raw tab or newline):
 *   `P\t<key>\t<value>`  put
 *   `D\t<key>`           delete
 *   `C\t<n>`             commit of the n lines before it
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import * as path from 'node:path';
import { BosunError } from '../../errors.js';

/** Another live process holds the store open for writing. */
export class StoreLockedError extends BosunError {
  readonly fatal = true;
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the store in ${dir} is in use by process ${pid}; wait for it to finish`);
  }
}

/** The file is not a store log (or was damaged in its committed part). */
export class StoreFormatError extends BosunError {
  readonly fatal = true;
}

const COMPACT_MIN_BYTES = 32 * 1024 * 1024;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Locks this process holds: a lock file naming our pid but not in here was left by an earlier
// process that happened to have the same pid (containers reuse low pids).
const held = new Set<string>();

/** Writes all of `data` at the file position, however many calls it takes. */
function writeAll(fd: number, data: Buffer): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done);
}

/** Takes `<dir>/<name>.lock`, replacing a lock left by a process that no longer runs. */
export function lock(dir: string, name: string): string {
  const file = path.join(dir, `${name}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      held.add(file);
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const text = readFileSync(file, 'utf8');
      const pid = Number.parseInt(text, 10);
      // An empty lock may be one another process is writing its pid into: treat it as live
      // unless it is old.
      const empty = !Number.isInteger(pid) && Date.now() - statSync(file).mtimeMs < 10_000;
      const ours = pid === process.pid && held.has(file);
      const alive = Number.isInteger(pid) && pid !== process.pid && pidAlive(pid);
      if (empty || ours || alive) throw new StoreLockedError(dir, Number.isInteger(pid) ? pid : -1);
      // Move the stale lock aside, then check it is the one we judged stale: another process
      // may have replaced it with a live lock in between, which must be put back.
      const stale = `${file}.stale-${process.pid}`;
      try {
        renameSync(file, stale);
      } catch {
        continue;
      }
      if (readFileSync(stale, 'utf8') !== text) {
        try {
          renameSync(stale, file);
        } catch {
          rmSync(stale, { force: true });
        }
        throw new StoreLockedError(dir, -1);
      }
      rmSync(stale, { force: true });
    }
  }
  throw new StoreLockedError(dir, -1);
}

/** Releases a lock `lock` took. */
export function unlock(lockFile: string): void {
  rmSync(lockFile, { force: true });
  held.delete(lockFile);
}

export type LogChange = readonly [key: string, value: unknown] | readonly [key: string];

/** One line of the format above: a put of the value's JSON, or a delete when it is null. */
export function recordLine(key: string, json: string | null): string {
  return json === null ? `D\t${JSON.stringify(key)}\n` : `P\t${JSON.stringify(key)}\t${json}\n`;
}

export interface LogFileOptions {
  /** Appends are allowed (the caller holds the folder's lock). */
  readonly write: boolean;
  /**
   * Deletes are remembered as tombstones (`state` answers null for them) until the log is
   * flushed elsewhere: the sorted store's log sits above segments that may still hold the key.
   */
  readonly tombstones?: boolean;
  /** Rewrites the file when it holds more than twice its live data (the default). */
  readonly autoCompact?: boolean;
}

export class LogFile {
  private readonly live = new Map<string, string>();
  private readonly tombstones: Set<string> | undefined;
  private fd: number | undefined;
  private fileBytes = 0;
  private liveBytes = 0;
  private sorted: string[] | undefined;
  private readonly autoCompact: boolean;

  private constructor(
    readonly file: string,
    private readonly lockFile: string | undefined,
    options: Omit<LogFileOptions, 'write'> = {},
  ) {
    this.tombstones = options.tombstones === true ? new Set() : undefined;
    this.autoCompact = options.autoCompact ?? true;
  }

  /**
   * Opens (creating it if `write`) one log file without taking a lock: for a caller that holds
   * its folder's lock itself (a writer) or reads a snapshot (a reader).
   */
  static openFile(file: string, options: LogFileOptions): LogFile {
    const log = new LogFile(file, undefined, options);
    try {
      log.load(options.write);
    } catch (error) {
      log.close();
      throw error;
    }
    return log;
  }

  /**
   * Opens (creating it if needed) `<dir>/<name>.log`. A writer takes the folder's lock for
   * `name`; a reader sees the state committed when it opened.
   */
  static open(dir: string, name: string, mode: 'read' | 'write' = 'write'): LogFile {
    mkdirSync(dir, { recursive: true });
    const lockFile = mode === 'write' ? lock(dir, name) : undefined;
    const log = new LogFile(path.join(dir, `${name}.log`), lockFile);
    try {
      log.load(mode === 'write');
    } catch (error) {
      log.close();
      throw error;
    }
    return log;
  }

  private load(repair: boolean): void {
    if (!existsSync(this.file)) {
      if (repair) writeFileSync(this.file, '');
    } else {
      // Read as bytes and decoded line by line: one string of the whole file would hit V8's
      // string length limit (about 512 MiB) on a large database.
      const data = readFileSync(this.file);
      let committed = 0;
      let pending: string[] = [];
      let start = 0;
      let lineNo = 0;
      while (start < data.length) {
        const end = data.indexOf(10, start);
        if (end < 0) break; // torn last line: never committed
        lineNo++;
        const line = data.toString('utf8', start, end);
        if (line.startsWith('C\t')) {
          if (Number(line.slice(2)) !== pending.length)
            throw new StoreFormatError(
              `${this.file}: line ${lineNo}: commit of ${line.slice(2)} lines after ${pending.length}`,
            );
          for (const l of pending) this.applyLine(l, lineNo);
          pending = [];
          committed = end + 1;
        } else {
          pending.push(line);
        }
        start = end + 1;
      }
      this.fileBytes = committed;
      if (repair && committed < data.length) {
        // An uncommitted tail from an interrupted write: drop it before appending.
        const fd = openSync(this.file, 'r+');
        ftruncateSync(fd, this.fileBytes);
        fsyncSync(fd);
        closeSync(fd);
      }
    }
    if (repair) this.fd = openSync(this.file, 'a');
  }

  private applyLine(line: string, lineNo: number): void {
    const tab = line.indexOf('\t', 2);
    try {
      if (line.startsWith('P\t') && tab > 0) {
        this.set(JSON.parse(line.slice(2, tab)) as string, line.slice(tab + 1));
        return;
      }
      if (line.startsWith('D\t')) {
        this.remove(JSON.parse(line.slice(2)) as string);
        return;
      }
    } catch {
      // fall through to the format error
    }
    throw new StoreFormatError(`${this.file}: line ${lineNo} is not a store record`);
  }

  private set(key: string, json: string): void {
    if (this.tombstones?.delete(key) === true) {
      // A tombstone counted its key's length (remove): a put over it takes that back.
      this.liveBytes -= key.length;
      this.sorted = undefined;
    }
    const old = this.live.get(key);
    if (old === undefined) this.sorted = undefined;
    else this.liveBytes -= key.length + old.length;
    this.live.set(key, json);
    this.liveBytes += key.length + json.length;
  }

  private remove(key: string): void {
    if (this.tombstones !== undefined && !this.tombstones.has(key)) {
      this.tombstones.add(key);
      this.liveBytes += key.length;
      this.sorted = undefined;
    }
    const old = this.live.get(key);
    if (old === undefined) return;
    this.liveBytes -= key.length + old.length;
    this.live.delete(key);
    this.sorted = undefined;
  }

  get size(): number {
    return this.live.size;
  }

  /** Bytes of keys and values held (tombstones count their keys). */
  get bytes(): number {
    return this.liveBytes;
  }

  /** The value's JSON text, null for a tombstone, undefined when the log says nothing. */
  state(key: string): string | null | undefined {
    const raw = this.live.get(key);
    if (raw !== undefined) return raw;
    return this.tombstones?.has(key) === true ? null : undefined;
  }

  /**
   * Keys (tombstones included) starting with `prefix`, in code-unit order, with their state:
   * what a sorted store merges with its segments.
   */
  entries(prefix = ''): [string, string | null][] {
    return this.keys(prefix, true).map((k): [string, string | null] => [
      k,
      this.live.get(k) ?? null,
    ]);
  }

  /** The value's JSON text, or undefined. */
  raw(key: string): string | undefined {
    return this.live.get(key);
  }

  get<T>(key: string): T | undefined {
    const raw = this.live.get(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  /** Keys starting with `prefix`, in code-unit order (tombstones too when asked). */
  keys(prefix = '', withTombstones = false): string[] {
    this.sorted ??= [...this.live.keys(), ...(this.tombstones ?? [])].sort();
    const all = this.sorted;
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((all[mid] as string) < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < all.length && (all[i] as string).startsWith(prefix); i++) {
      const key = all[i] as string;
      if (withTombstones || this.tombstones === undefined || !this.tombstones.has(key))
        out.push(key);
    }
    return out;
  }

  /** Applies puts (`[key, value]`) and deletes (`[key]`) as one durable batch. */
  commit(changes: readonly LogChange[]): void {
    if (this.fd === undefined) throw new Error(`${this.file} is open read-only`);
    if (changes.length === 0) return;
    const lines: string[] = [];
    const applied: [string, string | undefined][] = [];
    for (const change of changes) {
      const key = change[0];
      if (change.length === 2) {
        const json = JSON.stringify(change[1]);
        lines.push(recordLine(key, json));
        applied.push([key, json]);
      } else {
        lines.push(recordLine(key, null));
        applied.push([key, undefined]);
      }
    }
    lines.push(`C\t${changes.length}\n`);
    const buffer = Buffer.from(lines.join(''));
    try {
      writeAll(this.fd, buffer);
      fsyncSync(this.fd);
    } catch (error) {
      // A short or failed write (a full disk) must not leave half a batch for later commits to
      // follow: cut the file back to the last commit. If even that fails, this handle takes no
      // more writes; the next open drops the uncommitted tail.
      try {
        ftruncateSync(this.fd, this.fileBytes);
      } catch {
        closeSync(this.fd);
        this.fd = undefined;
      }
      throw error;
    }
    this.fileBytes += buffer.length;
    for (const [key, json] of applied) {
      if (json === undefined) this.remove(key);
      else this.set(key, json);
    }
    if (
      this.autoCompact &&
      this.fileBytes > COMPACT_MIN_BYTES &&
      this.fileBytes > 2 * this.liveBytes
    ) {
      try {
        this.compact();
      } catch {
        // The batch is committed; a compaction that failed (a full disk) left the log as it was.
      }
    }
  }

  /** Rewrites the log with only the live entries (and the tombstones it keeps). */
  compact(): void {
    if (this.fd === undefined) throw new Error(`${this.file} is open read-only`);
    const tmp = `${this.file}.compact`;
    const fd = openSync(tmp, 'w');
    let bytes = 0;
    try {
      const keys = [...this.live.keys(), ...(this.tombstones ?? [])];
      const line = (k: string) => recordLine(k, this.live.get(k) ?? null);
      // One commit per chunk keeps each write bounded; a crash before the rename leaves the
      // old file as it was.
      for (let i = 0; i < keys.length; i += 1000) {
        const chunk = keys.slice(i, i + 1000);
        const text = `${chunk.map(line).join('')}C\t${chunk.length}\n`;
        const data = Buffer.from(text);
        writeAll(fd, data);
        bytes += data.length;
      }
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw error;
    }
    closeSync(fd);
    renameSync(tmp, this.file);
    // The rename is durable only once the folder's entry is.
    const dirFd = openSync(path.dirname(this.file), 'r');
    fsyncSync(dirFd);
    closeSync(dirFd);
    closeSync(this.fd);
    this.fd = openSync(this.file, 'a');
    this.fileBytes = bytes;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (this.lockFile !== undefined) unlock(this.lockFile);
  }
}
