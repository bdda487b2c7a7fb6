/**
 * The one explicit list of extractors. A bundler keeps what is imported here; nothing registers
 * itself as a side effect.
 */
import { readerId } from '../layers/reader-id.js';
import { apkInstalled } from './apk.js';
import { composerInstalled } from './composer.js';
import { dotnetDeps } from './dotnet.js';
import { dpkgFiles } from './dpkg-files.js';
import { dpkgStatus } from './dpkg-status.js';
import { goBinary } from './go-binary.js';
import { javaArchive } from './java.js';
import { npmInstalled } from './npm.js';
import { npmLockfile } from './npm-lockfile.js';
import { pythonInstalled } from './python.js';
import { rpmBdb } from './rpm-bdb.js';
import { rpmNdb } from './rpm-ndb.js';
import { rpmSqlite } from './rpm-sqlite.js';
import { rubyGemspec } from './ruby.js';
import { rustAuditable } from './rust-binary.js';
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

/** Part of every per-layer cache key: which extractors, at which versions, read the layer. */
export const EXTRACTOR_SET_ID = readerId(EXTRACTORS);

export function extractorsFor(
  path: string,
  size: number,
  extractors: readonly Extractor[] = EXTRACTORS,
): Extractor[] {
  return extractors.filter((e) => e.required(path, size));
}
