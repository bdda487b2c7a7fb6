/**
 * NuGet versions: SemVer 2.0 extended to four numeric parts (`1.0.0.1`), compared
 * case-insensitively; build metadata ignored; missing parts are 0; leading zeros allowed.
 * https://learn.microsoft.com/en-us/nuget/concepts/package-versioning
 */
import { InvalidVersionError, type Ordering, sign, type VersionScheme, validBy } from './types.js';

interface NugetVersion {
  readonly parts: readonly bigint[];
  readonly pre: readonly string[];
}

const NUGET =
  /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export function parseNuget(version: string): NugetVersion {
  const m = NUGET.exec(version.trim());
  if (m === null) throw new InvalidVersionError('NuGet', version, 'not a NuGet version');
  const parts = [m[1], m[2], m[3], m[4]].map((p) => BigInt(p ?? '0'));
  return { parts, pre: m[5] === undefined ? [] : m[5].toLowerCase().split('.') };
}

function compareIdentifiers(a: string, b: string): Ordering {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return sign(Number(BigInt(a) - BigInt(b)));
  if (an !== bn) return an ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

export function compareNuget(a: NugetVersion, b: NugetVersion): Ordering {
  for (let i = 0; i < 4; i++) {
    const x = a.parts[i] as bigint;
    const y = b.parts[i] as bigint;
    if (x !== y) return x < y ? -1 : 1;
  }
  // A release is newer than any of its prereleases.
  if (a.pre.length === 0 || b.pre.length === 0)
    return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const r = compareIdentifiers(a.pre[i] as string, b.pre[i] as string);
    if (r !== 0) return r;
  }
  return sign(a.pre.length - b.pre.length);
}

export const nuget: VersionScheme = {
  name: 'NuGet',
  compare: (a, b) => compareNuget(parseNuget(a), parseNuget(b)),
  valid: validBy(parseNuget),
};
