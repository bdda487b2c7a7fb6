import type { ExtractedPackage, ExtractResult } from '../../types.js';
import { parseRpmHeader, type RpmHeader, RpmHeaderError, TAG } from './header.js';

/** `curl-7.76.0-6.cm2.src.rpm` → `curl`: the name is all but the last two dash-separated parts. */
export function sourceRpmName(sourceRpm: string): string | undefined {
  const base = sourceRpm.replace(/\.(no)?src\.rpm$/, '');
  const parts = base.split('-');
  return parts.length >= 3 ? parts.slice(0, -2).join('-') : undefined;
}

/**
 * The package an rpm header describes, whatever database backend held it; undefined for the
 * gpg-pubkey pseudo-packages rpm keeps for imported keys.
 */
export function packageFromHeader(h: RpmHeader, location: string): ExtractedPackage | undefined {
  const name = h.string(TAG.NAME);
  const version = h.string(TAG.VERSION);
  const release = h.string(TAG.RELEASE);
  // Empty ones too: a corrupt header's empty NAME is no package (fuzz/targets.ts found one).
  if (!name || !version || !release) throw new RpmHeaderError('no NAME, VERSION or RELEASE');
  if (name === 'gpg-pubkey') return undefined;
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
  return {
    type: 'rpm',
    name,
    version: evr,
    ...(arch === undefined ? {} : { arch }),
    ...(source === undefined ? {} : { sourceName: source, sourceVersion: evr }),
    ...(license === undefined ? {} : { licenses: [license] }),
    files,
    location,
  };
}

/**
 * Adds the package of one header blob to `into`, or an issue naming the database and the
 * package when the blob is not a usable header; shared by the three database backends.
 */
export function addHeaderBlob(
  into: ExtractResult,
  extractor: string,
  path: string,
  label: string,
  read: () => Uint8Array,
): void {
  try {
    const pkg = packageFromHeader(parseRpmHeader(read()), path);
    if (pkg !== undefined) into.packages.push(pkg);
  } catch (error) {
    if (!(error instanceof RpmHeaderError)) throw error;
    into.issues.push({
      extractor,
      location: path,
      message: `${path}: ${label}: ${error.message}; skipped`,
    });
  }
}
