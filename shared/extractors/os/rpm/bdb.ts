/**
 * The rpm database's BerkeleyDB backend (`Packages`, a Berkeley DB hash database: RHEL/CentOS
 * 7-8, Amazon Linux 2, older SUSE). Read without Berkeley DB: the metadata page gives the page
 * size and last page; hash pages (P_HASH, P_HASH_UNSORTED) hold key/value pairs whose values
 * (the rpm headers) live on chains of overflow pages. Layout: Berkeley DB's db_page.h.
 * Every page number and length is checked against the file.
 */

import type { Extractor, ExtractResult } from '../../types.js';
import { MAX_HEADER_BYTES, RpmHeaderError } from './header.js';
import { addHeaderBlob } from './package.js';

const ID = 'os/rpm/bdb';
const HASH_MAGIC = 0x061561;
const PAGE_HEADER = 26;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASH = 13;
const H_OFFPAGE = 3;

export const rpmBdb: Extractor = {
  id: ID,
  osDatabase: true,
  version: 1,
  packageTypes: ['rpm'],
  required: (path) => path === 'var/lib/rpm/Packages' || path === 'usr/lib/sysimage/rpm/Packages',
  extract(path: string, content: Buffer): ExtractResult {
    const result: ExtractResult = { packages: [], issues: [] };
    const note = (message: string) =>
      result.issues.push({ extractor: ID, location: path, message: `${path}: ${message}` });
    if (content.length < 512) {
      note('too short for a Berkeley DB file');
      return result;
    }
    // Databases are written in the byte order of the machine that made them.
    const little = content.readUInt32LE(12) === HASH_MAGIC;
    if (!little && content.readUInt32BE(12) !== HASH_MAGIC) {
      note('not a Berkeley DB hash database');
      return result;
    }
    const u32 = (at: number) => (little ? content.readUInt32LE(at) : content.readUInt32BE(at));
    const u16 = (at: number) => (little ? content.readUInt16LE(at) : content.readUInt16BE(at));
    const pageSize = u32(20);
    const lastPage = u32(32);
    if (pageSize < 512 || pageSize > 65536 || (lastPage + 1) * pageSize > content.length) {
      note(`page size ${pageSize} and last page ${lastPage} do not fit in ${content.length} bytes`);
      return result;
    }
    const overflow = (first: number, length: number): Buffer => {
      if (length > MAX_HEADER_BYTES) throw new RpmHeaderError(`value of ${length} bytes`);
      const parts: Buffer[] = [];
      let total = 0;
      const seen = new Set<number>();
      for (let page = first; page !== 0 && total < length; ) {
        if (page > lastPage || seen.has(page))
          throw new RpmHeaderError(`overflow chain reaches page ${page}`);
        seen.add(page);
        const base = page * pageSize;
        if (content[base + 25] !== P_OVERFLOW)
          throw new RpmHeaderError(`page ${page} is not an overflow page`);
        const used = u16(base + 22);
        if (PAGE_HEADER + used > pageSize)
          throw new RpmHeaderError(`overflow page ${page} claims ${used} bytes`);
        parts.push(content.subarray(base + PAGE_HEADER, base + PAGE_HEADER + used));
        total += used;
        page = u32(base + 16);
      }
      const value = Buffer.concat(parts);
      if (value.length < length)
        throw new RpmHeaderError(`overflow chain holds ${value.length} of ${length} bytes`);
      return value.subarray(0, length);
    };
    for (let page = 1; page <= lastPage; page++) {
      const base = page * pageSize;
      const type = content[base + 25];
      if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
      const entries = u16(base + 20);
      // The index of a page's entries must fit in the page: a corrupt count read index slots
      // past the end of the file (a RangeError that ended the scan, issue 17 #2).
      if (PAGE_HEADER + entries * 2 > pageSize) {
        note(`page ${page} claims ${entries} entries, more than a ${pageSize}-byte page holds`);
        continue;
      }
      // Index entries follow the header; even ones are keys, odd ones their values.
      for (let i = 1; i < entries; i += 2) {
        const offset = u16(base + PAGE_HEADER + i * 2);
        const item = base + offset;
        // Inline values (H_KEYDATA) are not package headers; only off-page values are.
        if (offset >= pageSize || content[item] !== H_OFFPAGE) continue;
        if (offset + 12 > pageSize) {
          note(`page ${page}: entry ${i} at offset ${offset} runs past the page`);
          continue;
        }
        addHeaderBlob(result, ID, path, `page ${page}, entry ${i}`, () =>
          overflow(u32(item + 4), u32(item + 8)),
        );
      }
    }
    return result;
  },
};
