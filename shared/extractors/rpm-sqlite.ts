/**
 * The rpm database's SQLite backend (rpm >= 4.16: Fedora 33+, RHEL 9, CBL-Mariner 2):
 * `rpmdb.sqlite`, table `Packages(hnum, blob)`, one header blob per installed package. Read
 * with sql.js (SQLite compiled to WebAssembly, in one JavaScript file): no native module, so
 * the same code runs on Lambda's arm64 and on x86-64.
 */
import initSqlJs from 'sql.js/dist/sql-wasm-inline.js';
import { parseRpmHeader, RpmHeaderError, TAG } from './rpm-header.js';
import type { ExtractedPackage, ExtractIssue, Extractor, ExtractResult } from './types.js';

const ID = 'rpm/sqlite';
let sqlite: ReturnType<typeof initSqlJs> | undefined;

/** `curl-7.76.0-6.cm2.src.rpm` → `curl`: the name is all but the last two dash-separated parts. */
export function sourceRpmName(sourceRpm: string): string | undefined {
  const base = sourceRpm.replace(/\.(no)?src\.rpm$/, '');
  const parts = base.split('-');
  return parts.length >= 3 ? parts.slice(0, -2).join('-') : undefined;
}

export const rpmSqlite: Extractor = {
  id: ID,
  version: 1,
  required: (path) =>
    path === 'var/lib/rpm/rpmdb.sqlite' || path === 'usr/lib/sysimage/rpm/rpmdb.sqlite',
  async extract(path: string, content: Buffer): Promise<ExtractResult> {
    const packages: ExtractedPackage[] = [];
    const issues: ExtractIssue[] = [];
    sqlite ??= initSqlJs();
    const SQL = await sqlite;
    let db: InstanceType<Awaited<typeof sqlite>['Database']>;
    let rows: unknown[][];
    try {
      db = new SQL.Database(content);
      rows = db.exec('SELECT hnum, blob FROM Packages')[0]?.values ?? [];
    } catch (error) {
      issues.push({
        extractor: ID,
        location: path,
        message: `${path}: not an rpm SQLite database: ${(error as Error).message}`,
      });
      return { packages, issues };
    }
    try {
      for (const [hnum, blob] of rows) {
        try {
          if (!(blob instanceof Uint8Array)) throw new RpmHeaderError('blob is not binary');
          const h = parseRpmHeader(blob);
          const name = h.string(TAG.NAME);
          const version = h.string(TAG.VERSION);
          const release = h.string(TAG.RELEASE);
          if (name === undefined || version === undefined || release === undefined)
            throw new RpmHeaderError('no NAME, VERSION or RELEASE');
          // gpg-pubkey entries are keys rpm imported, not software.
          if (name === 'gpg-pubkey') continue;
          const epoch = h.int32s(TAG.EPOCH)[0];
          const evr = `${epoch === undefined || epoch === 0 ? '' : `${epoch}:`}${version}-${release}`;
          const sourceRpm = h.string(TAG.SOURCERPM);
          const dirs = h.strings(TAG.DIRNAMES);
          const indexes = h.int32s(TAG.DIRINDEXES);
          const files = h
            .strings(TAG.BASENAMES)
            .map((base, i) => `${(dirs[indexes[i] ?? -1] ?? '').replace(/^\//, '')}${base}`);
          const arch = h.string(TAG.ARCH);
          const license = h.string(TAG.LICENSE);
          const source = sourceRpm === undefined ? undefined : sourceRpmName(sourceRpm);
          packages.push({
            type: 'rpm',
            name,
            version: evr,
            ...(arch === undefined ? {} : { arch }),
            ...(source === undefined ? {} : { sourceName: source, sourceVersion: evr }),
            ...(license === undefined ? {} : { licenses: [license] }),
            files,
            location: path,
          });
        } catch (error) {
          if (!(error instanceof RpmHeaderError)) throw error;
          issues.push({
            extractor: ID,
            location: path,
            message: `${path}: package ${String(hnum)}: ${error.message}; skipped`,
          });
        }
      }
    } finally {
      db.close();
    }
    return { packages, issues };
  },
};
