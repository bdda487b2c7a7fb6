/**
 * rpm package headers, as the rpm database stores them (one blob per installed package):
 * a count of index entries `il` and a data length `dl` (32-bit big-endian), `il` entries of
 * {tag, type, offset, count}, then `dl` bytes of data.
 * https://rpm-software-management.github.io/rpm/manual/format_v4.html (Header structure)
 * Every offset is checked against the blob: a corrupt header is an error, never a crash.
 */

export class RpmHeaderError extends Error {
  override readonly name = 'RpmHeaderError';
}

const TYPE = { INT32: 4, STRING: 6, STRING_ARRAY: 8, I18NSTRING: 9 } as const;

export const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  LICENSE: 1014,
  ARCH: 1022,
  SOURCERPM: 1044,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
} as const;

interface Entry {
  readonly type: number;
  readonly offset: number;
  readonly count: number;
}

export interface RpmHeader {
  string(tag: number): string | undefined;
  strings(tag: number): string[];
  int32s(tag: number): number[];
}

const MAX_ENTRIES = 100_000;
/**
 * Strings or integers of one tag. A 48 MiB header of empty strings took 17 s and 1.1 GB as
 * tens of millions of file names (issue 17 #7); the largest real packages list some 100,000
 * files.
 */
export const MAX_TAG_VALUES = 500_000;
/**
 * A header blob larger than this is refused unread: real headers, file lists of the largest
 * packages included, are a few MB, and a 48 MiB one (under the 64 MiB file limit) was held
 * three times over while read (issue 17 #7).
 */
export const MAX_HEADER_BYTES = 32 * 1024 * 1024;

export function parseRpmHeader(blob: Uint8Array): RpmHeader {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (blob.length < 8) throw new RpmHeaderError(`header of ${blob.length} bytes is too short`);
  if (blob.length > MAX_HEADER_BYTES)
    throw new RpmHeaderError(`header of ${blob.length} bytes, over ${MAX_HEADER_BYTES}`);
  const il = view.getUint32(0);
  const dl = view.getUint32(4);
  if (il === 0 || il > MAX_ENTRIES) throw new RpmHeaderError(`header claims ${il} index entries`);
  const dataStart = 8 + il * 16;
  if (dataStart + dl > blob.length)
    throw new RpmHeaderError(
      `header claims ${dl} data bytes after ${il} entries, but has ${blob.length} bytes`,
    );
  const entries = new Map<number, Entry>();
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = view.getUint32(at);
    const entry = {
      type: view.getUint32(at + 4),
      offset: view.getInt32(at + 8),
      count: view.getUint32(at + 12),
    };
    if (entry.offset < 0 || entry.offset > dl)
      throw new RpmHeaderError(`tag ${tag}: offset ${entry.offset} outside ${dl} data bytes`);
    if (!entries.has(tag)) entries.set(tag, entry);
  }
  const data = blob.subarray(dataStart, dataStart + dl);
  const decoder = new TextDecoder('utf-8');
  const readStrings = (e: Entry): string[] => {
    if (e.count > MAX_TAG_VALUES)
      throw new RpmHeaderError(`a tag claims ${e.count} strings, over ${MAX_TAG_VALUES}`);
    const out: string[] = [];
    let pos = e.offset;
    for (let i = 0; i < e.count; i++) {
      const end = data.indexOf(0, pos);
      if (end < 0) throw new RpmHeaderError(`unterminated string at data offset ${pos}`);
      out.push(decoder.decode(data.subarray(pos, end)));
      pos = end + 1;
    }
    return out;
  };
  return {
    string(tag) {
      const e = entries.get(tag);
      if (e === undefined) return undefined;
      if (e.type !== TYPE.STRING && e.type !== TYPE.I18NSTRING && e.type !== TYPE.STRING_ARRAY)
        throw new RpmHeaderError(`tag ${tag} is not a string (type ${e.type})`);
      return readStrings({ ...e, count: 1 })[0];
    },
    strings(tag) {
      const e = entries.get(tag);
      if (e === undefined) return [];
      if (e.type !== TYPE.STRING_ARRAY && e.type !== TYPE.I18NSTRING)
        throw new RpmHeaderError(`tag ${tag} is not a string array (type ${e.type})`);
      return readStrings(e);
    },
    int32s(tag) {
      const e = entries.get(tag);
      if (e === undefined) return [];
      if (e.type !== TYPE.INT32)
        throw new RpmHeaderError(`tag ${tag} is not INT32 (type ${e.type})`);
      if (e.count > MAX_TAG_VALUES)
        throw new RpmHeaderError(`tag ${tag} claims ${e.count} integers, over ${MAX_TAG_VALUES}`);
      if (e.offset + e.count * 4 > dl)
        throw new RpmHeaderError(`tag ${tag}: ${e.count} integers past the data`);
      const dv = new DataView(data.buffer, data.byteOffset + e.offset, e.count * 4);
      return Array.from({ length: e.count }, (_, i) => dv.getInt32(i * 4));
    },
  };
}
