/**
 * The one explicit list of extractors. A bundler keeps what is imported here; nothing registers
 * itself as a side effect. Each id is its module's path here (`os/dpkg/status`), and
 * test/unit/extractors/registry.test.ts holds the list to that and to shared/ecosystems.ts.
 */
import { readerId } from '../layers/reader-id.js';
import { goBinary } from './binary/go/buildinfo.js';
import { rustAuditable } from './binary/rust/auditable.js';
import { dotnetDeps } from './language/dotnet/deps.js';
import { javaArchive } from './language/java/archive.js';
import { npmInstalled } from './language/npm/installed.js';
import { npmLockfile } from './language/npm/lockfile.js';
import { composerInstalled } from './language/php/composer.js';
import { pythonInstalled } from './language/python/installed.js';
import { rubyGemspec } from './language/ruby/gemspec.js';
import { apkInstalled } from './os/apk/installed.js';
import { dpkgFiles } from './os/dpkg/files.js';
import { dpkgStatus } from './os/dpkg/status.js';
import { rpmBdb } from './os/rpm/bdb.js';
import { rpmNdb } from './os/rpm/ndb.js';
import { rpmSqlite } from './os/rpm/sqlite.js';
import type { Extractor } from './types.js';

export const EXTRACTORS: readonly Extractor[] = [
  dpkgStatus,
  dpkgFiles,
  apkInstalled,
  rpmSqlite,
  rpmNdb,
  rpmBdb,
  npmInstalled,
  npmLockfile,
  pythonInstalled,
  rubyGemspec,
  composerInstalled,
  dotnetDeps,
  javaArchive,
  goBinary,
  rustAuditable,
];

/**
 * Which extractors, at which versions: seeds the analyzer version and is recorded on each
 * inventory (the per-layer cache key adds the OS files and limits: inventoryReaderId).
 */
export const EXTRACTOR_SET_ID = readerId(EXTRACTORS);

export function extractorsFor(
  path: string,
  size: number,
  extractors: readonly Extractor[] = EXTRACTORS,
): Extractor[] {
  return extractors.filter((e) => e.required(path, size));
}
