import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LogFile,
  StoreFormatError,
  StoreLockedError,
} from '../../../shared/stores/embedded/log-file.js';

const fresh = () => mkdtempSync(path.join(tmpdir(), 'bosun-log-'));

describe('embedded store log file', () => {
  it('keeps committed batches across reopen, deletes included', () => {
    const dir = fresh();
    const log = LogFile.open(dir, 'kv');
    log.commit([
      ['a', { n: 1 }],
      ['b', 'two'],
    ]);
    log.commit([['a'], ['c', [3]]]);
    log.close();
    const again = LogFile.open(dir, 'kv', 'read');
    expect(again.keys()).toEqual(['b', 'c']);
    expect(again.get('c')).toEqual([3]);
    expect(again.get('a')).toBeUndefined();
    again.close();
  });

  it('drops a batch whose commit line never reached the file, and a torn last line', () => {
    const dir = fresh();
    const log = LogFile.open(dir, 'kv');
    log.commit([['kept', 1]]);
    log.close();
    // What a crash in the middle of a two-put batch leaves behind.
    appendFileSync(path.join(dir, 'kv.log'), 'P\t"half"\t1\nP\t"torn"\t{"x":');
    const reopened = LogFile.open(dir, 'kv');
    expect(reopened.keys()).toEqual(['kept']);
    reopened.commit([['after', 2]]);
    reopened.close();
    expect(LogFile.open(dir, 'kv', 'read').keys()).toEqual(['after', 'kept']);
  });

  it('refuses a file that is not a store log', () => {
    const dir = fresh();
    writeFileSync(path.join(dir, 'kv.log'), 'hello\nC\t1\n');
    expect(() => LogFile.open(dir, 'kv')).toThrow(StoreFormatError);
  });

  it('lets one writer in at a time and takes over a lock whose process is gone', () => {
    const dir = fresh();
    const first = LogFile.open(dir, 'kv');
    writeFileSync(path.join(dir, 'kv.lock'), '1'); // pid 1 is alive and is not us
    expect(() => LogFile.open(dir, 'kv')).toThrow(StoreLockedError);
    first.close();
    writeFileSync(path.join(dir, 'kv.lock'), '2147483646'); // no such process
    const second = LogFile.open(dir, 'kv');
    second.commit([['k', 1]]);
    // Held by this process: a second writer here is refused too.
    expect(() => LogFile.open(dir, 'kv')).toThrow(StoreLockedError);
    second.close();
    // Our pid, but not a lock this process holds: left by an earlier process with the same pid.
    writeFileSync(path.join(dir, 'kv.lock'), String(process.pid));
    const third = LogFile.open(dir, 'kv');
    expect(third.get('k')).toBe(1);
    third.close();
  });

  it('compaction rewrites only the live entries', () => {
    const dir = fresh();
    const log = LogFile.open(dir, 'kv');
    for (let i = 0; i < 50; i++) log.commit([['k', 'x'.repeat(1000) + i]]);
    const before = statSync(log.file).size;
    log.compact();
    expect(statSync(log.file).size).toBeLessThan(before / 10);
    log.commit([['j', 1]]);
    log.close();
    const again = LogFile.open(dir, 'kv', 'read');
    expect(again.get('k')).toBe(`${'x'.repeat(1000)}49`);
    expect(
      readFileSync(again.file, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('C')).length,
    ).toBe(2);
  });
});
