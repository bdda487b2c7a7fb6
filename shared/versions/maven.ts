/**
 * Maven versions, ordered as Maven 3.9's ComparableVersion does
 * (maven-artifact, org.apache.maven.artifact.versioning.ComparableVersion, 3.9.x semantics):
 * lowercase; `.` and `-` separate items, and a change between digits and letters starts a
 * new sub-list like `-`; numbers compare numerically; qualifiers order
 * alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp, unknown
 * qualifiers after sp, alphabetically; `a1`, `b1`, `m1` are alpha, beta, milestone; trailing
 * "null" items (0, "", ga, final, release) are dropped before comparing.
 * https://maven.apache.org/pom.html#version-order-specification
 */
import { InvalidVersionError, type Ordering, type VersionScheme, validBy } from './types.js';

type Item =
  | { kind: 'int'; value: bigint }
  | { kind: 'string'; value: string }
  | { kind: 'list'; items: Item[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const RELEASE_INDEX = String(QUALIFIERS.indexOf(''));

function stringItem(value: string, followedByDigit: boolean): Item {
  let v = value;
  if (followedByDigit && v.length === 1) {
    // a1 = alpha-1, b1 = beta-1, m1 = milestone-1
    if (v === 'a') v = 'alpha';
    else if (v === 'b') v = 'beta';
    else if (v === 'm') v = 'milestone';
  }
  return { kind: 'string', value: ALIASES[v] ?? v };
}

function comparableQualifier(q: string): string {
  const i = QUALIFIERS.indexOf(q);
  return i === -1 ? `${QUALIFIERS.length}-${q}` : String(i);
}

function isNull(item: Item): boolean {
  switch (item.kind) {
    case 'int':
      return item.value === 0n;
    case 'string':
      return comparableQualifier(item.value) === RELEASE_INDEX;
    case 'list':
      return item.items.length === 0;
  }
}

function normalize(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const last = list[i] as Item;
    if (isNull(last)) {
      list.splice(i, 1);
    } else if (last.kind !== 'list') {
      break;
    }
  }
}

function cmp(a: string, b: string): Ordering {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** item.compareTo(other), with `undefined` standing for Java's null (padding). */
function compareItems(item: Item | undefined, other: Item | undefined): Ordering {
  if (item === undefined) {
    if (other === undefined) return 0;
    return -compareItems(other, undefined) as Ordering;
  }
  switch (item.kind) {
    case 'int':
      if (other === undefined) return item.value === 0n ? 0 : 1;
      if (other.kind === 'int')
        return item.value === other.value ? 0 : item.value < other.value ? -1 : 1;
      return 1; // a number is newer than a qualifier or a sub-list
    case 'string':
      if (other === undefined) return cmp(comparableQualifier(item.value), RELEASE_INDEX);
      if (other.kind === 'int' || other.kind === 'list') return -1;
      return cmp(comparableQualifier(item.value), comparableQualifier(other.value));
    case 'list': {
      if (other === undefined) {
        const first = item.items[0];
        return first === undefined ? 0 : compareItems(first, undefined);
      }
      if (other.kind === 'int') return -1;
      if (other.kind === 'string') return 1;
      for (let i = 0; i < Math.max(item.items.length, other.items.length); i++) {
        const r = compareItems(item.items[i], other.items[i]);
        if (r !== 0) return r;
      }
      return 0;
    }
  }
}

function parseItem(isDigit: boolean, text: string, followedByDigit: boolean): Item {
  return isDigit
    ? { kind: 'int', value: BigInt(text.replace(/^0+(?=\d)/, '')) }
    : stringItem(text, followedByDigit);
}

export function parseMaven(version: string): Item {
  if (version.trim() === '') throw new InvalidVersionError('Maven', version, 'empty');
  const v = version.toLowerCase();
  const root: Item & { kind: 'list' } = { kind: 'list', items: [] };
  let list = root;
  const stack = [root];
  const push = () => {
    const sub: Item & { kind: 'list' } = { kind: 'list', items: [] };
    list.items.push(sub);
    list = sub;
    stack.push(sub);
  };
  let isDigit = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i] as string;
    if (c === '.') {
      list.items.push(
        i === start ? { kind: 'int', value: 0n } : parseItem(isDigit, v.slice(start, i), false),
      );
      start = i + 1;
    } else if (c === '-') {
      list.items.push(
        i === start ? { kind: 'int', value: 0n } : parseItem(isDigit, v.slice(start, i), false),
      );
      start = i + 1;
      push();
    } else if (c >= '0' && c <= '9') {
      if (!isDigit && i > start) {
        // 1.0alpha1 => [1, 0, [alpha, [1]]]: a qualifier followed by digits starts a sub-list.
        list.items.push(stringItem(v.slice(start, i), true));
        start = i;
        push();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.items.push(parseItem(true, v.slice(start, i), false));
        start = i;
        push();
      }
      isDigit = false;
    }
  }
  if (v.length > start) list.items.push(parseItem(isDigit, v.slice(start), false));
  while (stack.length > 0) normalize((stack.pop() as Item & { kind: 'list' }).items);
  return root;
}

export const maven: VersionScheme = {
  name: 'Maven',
  compare: (a, b) => compareItems(parseMaven(a), parseMaven(b)),
  valid: validBy(parseMaven),
};
