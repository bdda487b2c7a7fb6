/**
 * Alpine package versions, ordered as apk-tools 3 does (src/version.c): Gentoo-style
 * `digits{.digits}[letter]{_suffix[digits]}[~hash][-r digits]`. Suffixes alpha < beta < pre <
 * rc sort before the plain version, cvs < svn < git < hg < p after it.
 * https://wiki.alpinelinux.org/wiki/APKBUILD_Reference#pkgver
 */
import { memoize } from './memo.js';
import { InvalidVersionError, type Ordering, type VersionScheme } from './types.js';

enum T {
  InitialDigit = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNo = 4,
  CommitHash = 5,
  RevisionNo = 6,
  End = 7,
  Invalid = 8,
}

const SUFFIXES = ['alpha', 'beta', 'pre', 'rc', '', 'cvs', 'svn', 'git', 'hg', 'p'];
/** Index of the plain version among SUFFIXES: smaller is a pre-release. */
const NO_SUFFIX = 4;

interface Token {
  readonly type: T;
  readonly value: string;
}

/** Splits a version into tokens; the first invalid position yields an Invalid token and stops. */
export function apkTokens(version: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const digits = () => {
    const start = i;
    while (i < version.length && version[i] !== undefined && /[0-9]/.test(version[i] as string))
      i++;
    return version.slice(start, i);
  };
  const first = digits();
  if (first === '') return [{ type: T.Invalid, value: version }];
  out.push({ type: T.InitialDigit, value: first });
  let prev = T.InitialDigit;
  const push = (type: T, value: string, allowedAfter: (p: T) => boolean): boolean => {
    if (!allowedAfter(prev)) {
      out.push({ type: T.Invalid, value: version.slice(i) });
      return false;
    }
    out.push({ type, value });
    prev = type;
    return true;
  };
  while (i < version.length) {
    const c = version[i] as string;
    if (c === '.') {
      i++;
      const d = digits();
      if (d === '' || !push(T.Digit, d, (p) => p <= T.Digit))
        return d === '' ? [...out, { type: T.Invalid, value: version }] : out;
    } else if (c >= 'a' && c <= 'z') {
      i++;
      if (!push(T.Letter, c, (p) => p <= T.Digit)) return out;
    } else if (c === '_') {
      i++;
      const start = i;
      while (i < version.length && /[a-z]/.test(version[i] as string)) i++;
      const name = version.slice(start, i);
      const index = name === '' ? -1 : SUFFIXES.indexOf(name);
      if (index < 0 || index === NO_SUFFIX) return [...out, { type: T.Invalid, value: version }];
      if (!push(T.Suffix, String(index), (p) => p <= T.SuffixNo)) return out;
      const n = digits();
      if (n !== '') out.push({ type: T.SuffixNo, value: n });
      prev = n === '' ? T.Suffix : T.SuffixNo;
    } else if (c === '~') {
      i++;
      const start = i;
      while (i < version.length && /[0-9a-f]/.test(version[i] as string)) i++;
      const hash = version.slice(start, i);
      if (hash === '' || !push(T.CommitHash, hash, (p) => p < T.CommitHash))
        return [...out, { type: T.Invalid, value: version }];
    } else if (c === '-' && version[i + 1] === 'r') {
      i += 2;
      const n = digits();
      if (n === '' || !push(T.RevisionNo, n, (p) => p < T.RevisionNo))
        return [...out, { type: T.Invalid, value: version }];
    } else {
      return [...out, { type: T.Invalid, value: version.slice(i) }];
    }
  }
  out.push({ type: T.End, value: '' });
  return out;
}

function compareNumbers(a: string, b: string): Ordering {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x === y ? 0 : x < y ? -1 : 1;
}

function compareToken(a: Token, b: Token): Ordering {
  switch (a.type) {
    case T.Digit:
      // A leading zero makes the component a decimal fraction: compare as text (Gentoo's rule).
      if (a.value.startsWith('0') || b.value.startsWith('0'))
        return a.value === b.value ? 0 : a.value < b.value ? -1 : 1;
      return compareNumbers(a.value, b.value);
    case T.InitialDigit:
    case T.SuffixNo:
    case T.RevisionNo:
      return compareNumbers(a.value, b.value);
    case T.Suffix:
      return Math.sign(Number(a.value) - Number(b.value)) as Ordering;
    default:
      return a.value === b.value ? 0 : a.value < b.value ? -1 : 1;
  }
}

function isPreSuffix(t: Token | undefined): boolean {
  return t?.type === T.Suffix && Number(t.value) < NO_SUFFIX;
}

/** apk's comparison; `fuzzy` makes a version equal to any version it is a prefix of. */
function compareTokens(ta: Token[], tb: Token[], fuzzy: boolean): Ordering {
  let k = 0;
  for (;;) {
    const a = ta[k] as Token;
    const b = tb[k] as Token;
    if (fuzzy && b.type === T.End) return 0;
    if (a.type !== b.type || a.type >= T.End) break;
    const r = compareToken(a, b);
    if (r !== 0) return r;
    k++;
  }
  const a = ta[k] as Token;
  const b = tb[k] as Token;
  if (a.type === b.type) return 0;
  // The longer version is newer, unless what it has more of is a pre-release suffix.
  if (isPreSuffix(a)) return -1;
  if (isPreSuffix(b)) return 1;
  return a.type > b.type ? -1 : 1;
}

const checked = memoize(checkedUncached);

function checkedUncached(version: string): Token[] {
  const tokens = apkTokens(version);
  const bad = tokens.find((t) => t.type === T.Invalid);
  if (bad !== undefined)
    throw new InvalidVersionError(
      'apk',
      version,
      `unexpected ${JSON.stringify(bad.value.slice(0, 20))}`,
    );
  return tokens;
}

/**
 * apk's `~` constraint: `a` matches when `b` is a prefix of it, token by token. Like apk-tools,
 * only the prefix is looked at, so `3.6.9_post1 ~ 3.6` holds though `_post` is no suffix.
 */
export function apkFuzzyMatch(a: string, b: string): boolean {
  return compareTokens(apkTokens(a), checked(b), true) === 0;
}

export const apk: VersionScheme = {
  name: 'apk',
  compare: (a, b) => compareTokens(checked(a), checked(b), false),
  valid: (v) => apkTokens(v).every((t) => t.type !== T.Invalid),
};
