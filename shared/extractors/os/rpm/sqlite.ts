/**
 * The rpm database's SQLite backend (rpm >= 4.16: Fedora 33+, RHEL 9, CBL-Mariner 2):
 * `rpmdb.sqlite`, table `Packages(hnum, blob)`, one header blob per installed package. Read
 * with sql.js (SQLite compiled to WebAssembly, in one JavaScript file): no native module, so
 * the same code runs on Lambda's arm64 and on x86-64.
 */
import type initSqlJs from 'sql.js/dist/sql-wasm-inline.js';
import type { Extractor, ExtractResult } from '../../types.js';
import { MAX_HEADER_BYTES, RpmHeaderError } from './header.js';
import { addHeaderBlob } from './package.js';

export { sourceRpmName } from './package.js';

const ID = 'os/rpm/sqlite';
let sqlite: ReturnType<typeof initSqlJs> | undefined;

export const rpmSqlite: Extractor = {
  id: ID,
  osDatabase: true,
  version: 1,
  packageTypes: ['rpm'],
  required: (path) =>
    path === 'var/lib/rpm/rpmdb.sqlite' || path === 'usr/lib/sysimage/rpm/rpmdb.sqlite',
  async extract(path: string, content: Buffer): Promise<ExtractResult> {
    const result: ExtractResult = { packages: [], issues: [] };
    // Loaded on the first SQLite database: its WebAssembly, inlined, is a megabyte of
    // JavaScript that an image without one (most) never needs to parse.
    sqlite ??= import('sql.js/dist/sql-wasm-inline.js').then((m) => m.default());
    const SQL = await sqlite;
    let db: InstanceType<Awaited<typeof sqlite>['Database']>;
    let rows: ReturnType<InstanceType<Awaited<typeof sqlite>['Database']>['prepare']>;
    try {
      db = new SQL.Database(content);
      // A blob over the header limit is not even fetched (SQLite would hold it, then JS).
      rows = db.prepare(
        `SELECT hnum, CASE WHEN length(blob) > ${MAX_HEADER_BYTES} THEN length(blob) ELSE blob END FROM Packages`,
      );
    } catch (error) {
      result.issues.push({
        extractor: ID,
        location: path,
        message: `${path}: not an rpm SQLite database: ${(error as Error).message}`,
      });
      return result;
    }
    try {
      // One row at a time: a database with a huge header (48 MiB passes the file limit) is
      // then held once in SQLite and once as that row, not again as every row at once.
      while (rows.step()) {
        const [hnum, blob] = rows.get();
        addHeaderBlob(result, ID, path, `package ${String(hnum)}`, () => {
          if (typeof blob === 'number')
            throw new RpmHeaderError(`header of ${blob} bytes, over ${MAX_HEADER_BYTES}`);
          if (!(blob instanceof Uint8Array)) throw new RpmHeaderError('blob is not binary');
          return blob;
        });
      }
    } catch (error) {
      result.issues.push({
        extractor: ID,
        location: path,
        message: `${path}: stopped reading: ${(error as Error).message}`,
      });
    } finally {
      rows.free();
      db.close();
    }
    return result;
  },
};
