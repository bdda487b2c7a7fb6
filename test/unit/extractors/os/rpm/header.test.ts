import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseRpmHeader,
  RpmHeaderError,
  TAG,
} from '../../../../../shared/extractors/os/rpm/header.js';
import { dataDir } from '../../../../support/fixtures.js';

const blob = () => readFileSync(path.join(dataDir(), 'pkgdbs/go-rpmdb/pkg/testdata/blob.bin'));

describe('parseRpmHeader', () => {
  it('reads real header blobs (go-rpmdb and claircore fixtures)', () => {
    const h = parseRpmHeader(blob());
    expect([
      h.string(TAG.NAME),
      h.string(TAG.VERSION),
      h.string(TAG.RELEASE),
      h.string(TAG.ARCH),
    ]).toEqual(['publicsuffix-list-dafsa', '20210518', '2.fc35', 'noarch']);
    expect(h.string(TAG.SOURCERPM)).toBe('publicsuffix-list-20210518-2.fc35.src.rpm');
    const c = parseRpmHeader(
      readFileSync(
        path.join(dataDir(), 'pkgdbs/claircore/internal/rpm/rpmdb/testdata/package.header'),
      ),
    );
    expect([c.string(TAG.NAME), c.string(TAG.RELEASE)]).toEqual([
      'crypto-policies',
      '1.git5c710c0.fc34',
    ]);
    expect(c.strings(TAG.BASENAMES)).toHaveLength(152);
  });

  it('refuses truncated and lying headers with RpmHeaderError, never reading outside the blob', () => {
    const real = blob();
    const truncated = real.subarray(0, real.length - 100);
    expect(() => parseRpmHeader(truncated)).toThrow(RpmHeaderError);
    const hugeCount = Buffer.from(real);
    hugeCount.writeUInt32BE(0x7fffffff, 0);
    expect(() => parseRpmHeader(hugeCount)).toThrow('header claims 2147483647 index entries');
    const badOffset = Buffer.from(real);
    badOffset.writeInt32BE(0x7fff0000, 8 + 8);
    expect(() => parseRpmHeader(badOffset)).toThrow(/offset 2147418112 outside/);
    expect(() => parseRpmHeader(Buffer.alloc(4))).toThrow('header of 4 bytes is too short');
  });

  it('refuses a tag of more values than any package has, before reading them', () => {
    // Issue 17 #7: a huge header of empty file names cost 17 s and 1.1 GB as strings. The real
    // blob's BASENAMES entry is made to claim 600,000 names over 600,000 more NUL bytes.
    const real = blob();
    const il = real.readUInt32BE(0);
    const entry = Array.from({ length: il }, (_, i) => 8 + i * 16).find(
      (at) => real.readUInt32BE(at) === TAG.BASENAMES,
    ) as number;
    const hostile = Buffer.concat([real, Buffer.alloc(600_000)]);
    hostile.writeUInt32BE(real.readUInt32BE(4) + 600_000, 4);
    hostile.writeUInt32BE(600_000, entry + 12);
    const h = parseRpmHeader(hostile);
    expect(h.string(TAG.NAME)).toBe('publicsuffix-list-dafsa');
    expect(() => h.strings(TAG.BASENAMES)).toThrow(
      new RpmHeaderError('a tag claims 600000 strings, over 500000'),
    );
  });
});
