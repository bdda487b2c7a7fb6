/**
 * The rpm database's NDB backend (rpm >= 4.16 on SUSE: `Packages.db`), as rpm's
 * lib/backend/ndb/rpmpkg.c lays it out (little-endian): a file header (`RpmP`, version,
 * generation, number of slot pages), 16-byte slots (`Slot`, package index, block offset, block
 * count; blocks are 16 bytes), and at each slot's offset a blob (`BlbS`, package index,
 * generation, length) holding one rpm header. Every offset is checked against the file.
 */

import type { Extractor, ExtractResult } from '../../types.js';
import { RpmHeaderError } from './header.js';
import { addHeaderBlob } from './package.js';

const ID = 'os/rpm/ndb';
const PAGE = 4096;
const BLOCK = 16;
const MAGIC = { file: 0x506d7052, slot: 0x746f6c53, blob: 0x53626c42 } as const;

export const rpmNdb: Extractor = {
  id: ID,
  osDatabase: true,
  version: 1,
  packageTypes: ['rpm'],
  required: (path) =>
    path === 'var/lib/rpm/Packages.db' || path === 'usr/lib/sysimage/rpm/Packages.db',
  extract(path: string, content: Buffer): ExtractResult {
    const result: ExtractResult = { packages: [], issues: [] };
    const fail = (message: string): ExtractResult => {
      result.issues.push({ extractor: ID, location: path, message: `${path}: ${message}` });
      return result;
    };
    if (content.length < 32 || content.readUInt32LE(0) !== MAGIC.file)
      return fail('not an rpm NDB database (no RpmP header)');
    const slotPages = content.readUInt32LE(12);
    const slotEnd = slotPages * PAGE;
    if (slotPages === 0 || slotEnd > content.length)
      return fail(`header claims ${slotPages} slot pages in ${content.length} bytes`);
    for (let at = 32; at + 16 <= slotEnd; at += 16) {
      if (content.readUInt32LE(at) !== MAGIC.slot) return fail(`bad slot magic at offset ${at}`);
      const pkgIndex = content.readUInt32LE(at + 4);
      if (pkgIndex === 0) continue;
      const offset = content.readUInt32LE(at + 8) * BLOCK;
      const blocks = content.readUInt32LE(at + 12);
      addHeaderBlob(result, ID, path, `package ${pkgIndex}`, () => {
        if (offset + 16 > content.length || offset + blocks * BLOCK > content.length) {
          throw new RpmHeaderError(`blob at ${offset} runs past the file`);
        }
        if (
          content.readUInt32LE(offset) !== MAGIC.blob ||
          content.readUInt32LE(offset + 4) !== pkgIndex
        ) {
          throw new RpmHeaderError(`no blob for the slot at ${offset}`);
        }
        const length = content.readUInt32LE(offset + 12);
        if (offset + 16 + length > content.length)
          throw new RpmHeaderError(`blob of ${length} bytes runs past the file`);
        return content.subarray(offset + 16, offset + 16 + length);
      });
    }
    return result;
  },
};
