/**
 * What every OVAL definitions document has in common, whoever publishes it (OVAL 5,
 * https://oval.mitre.org/language/version5.11/ovaldefinition/documentation/oval-definitions-schema.html):
 * `<definitions>` whose `<criteria>` trees of `<criterion test_ref>` leaves name `<tests>`; an
 * rpminfo test (linux-definitions-schema, `rpminfo_test`) names an `<objects>` entry (the package
 * name) and `<states>` entries (its `evr` with an `operation`, or a `version`, `arch`, `release`
 * or `signature_keyid`).
 *
 * The reader keeps each definition as raw text until it is read, so that a release's file of
 * hundreds of MB is never one object tree; tests, objects and states become small indexes.
 * A criteria tree becomes a disjunction of clauses (disjunctive normal form), each a conjunction
 * of the terms a publisher module (oval-microsoft.ts, oval-oracle.ts, oval-suse.ts) makes of its
 * criteria: a platform, an arch, a package version condition, and what Bosun cannot evaluate.
 */
import { XMLParser } from 'fast-xml-parser';
import { BosunError } from '../../errors.js';
import { rpm } from '../../versions/rpm.js';
import type { OsvAffected, OsvEvent } from '../osv.js';

export type Attrs = Record<string, unknown>;

/** Text of an element that may carry attributes (`{'#text': …}`), trimmed; undefined if none. */
export function text(v: unknown): string | undefined {
  const raw =
    typeof v === 'string'
      ? v
      : v !== null && typeof v === 'object' && typeof (v as Attrs)['#text'] === 'string'
        ? ((v as Attrs)['#text'] as string)
        : undefined;
  const t = raw?.trim();
  return t === undefined || t === '' ? undefined : t;
}

export const list = (v: unknown): Attrs[] =>
  Array.isArray(v)
    ? (v.filter((x) => x !== null && typeof x === 'object') as Attrs[])
    : v !== null && typeof v === 'object'
      ? [v as Attrs]
      : [];

/** An attribute's value, trimmed; undefined if absent or blank. */
export const attr = (v: unknown, name: string): string | undefined => {
  const a = v !== null && typeof v === 'object' ? (v as Attrs)[`@_${name}`] : undefined;
  return typeof a === 'string' && a.trim() !== '' ? a.trim() : undefined;
};

/** A `<*_test>`: what it checks is in its object and states. */
export interface OvalTest {
  readonly id: string;
  /** Element name without prefix: `rpminfo_test`, `textfilecontent54_test`, … */
  readonly kind: string;
  readonly comment?: string;
  readonly objectRef?: string;
  readonly stateRefs: readonly string[];
}

export interface OvalObject {
  readonly id: string;
  readonly kind: string;
  /** The package name of an rpminfo object when it is a plain value. */
  readonly name?: string;
}

/** One entity of a state (`evr`, `version`, `arch`, …): its value and OVAL operation. */
export interface StateEntity {
  readonly value: string;
  readonly operation: string;
}

export interface OvalState {
  readonly id: string;
  readonly kind: string;
  readonly entities: ReadonlyMap<string, StateEntity>;
}

/** A definition as the document has it: attributes read, content kept as text until needed. */
export interface RawDefinition {
  readonly id: string;
  readonly class?: string;
  readonly body: string;
}

export interface OvalDocument {
  /** `<generator><oval:timestamp>`, the fallback for definitions without dates. */
  readonly timestamp?: string;
  readonly definitions: readonly RawDefinition[];
  readonly tests: ReadonlyMap<string, OvalTest>;
  readonly objects: ReadonlyMap<string, OvalObject>;
  readonly states: ReadonlyMap<string, OvalState>;
  /** What the document has that OVAL does not define where it is (e.g. `<state>` for `<states>`). */
  readonly oddities: readonly string[];
}

// Values stay text (`1.0` is a version, not a number); namespace prefixes (`linux-def:`,
// `oval-def:`) go, so Microsoft's prefixed elements and Oracle's default namespace read alike.
// Attributes are `@_`-prefixed: a state's `version` attribute (its revision) and its `version`
// element (the package version it checks) must not meet.
const common = {
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  removeNSPrefix: true,
  // Numeric character references (SUSE writes `&#xA;` in descriptions) become characters.
  htmlEntities: true,
} as const;

const CONTAINERS = ['tests', 'objects', 'states'] as const;
// The document's top level: definitions stay raw text each, the containers raw text whole.
const topParser = new XMLParser({
  ...common,
  stopNodes: [
    'oval_definitions.definitions.definition',
    ...CONTAINERS.map((c) => `oval_definitions.${c}`),
  ],
  isArray: (_name, jpath, _leaf, isAttribute) =>
    !isAttribute && String(jpath) === 'oval_definitions.definitions.definition',
});

// A container's children (`rpminfo_test`, …) and their repeated parts are lists.
const containerParser = new XMLParser({
  ...common,
  isArray: (name, jpath, _leaf, isAttribute) =>
    !isAttribute && (!String(jpath).includes('.') || name === 'state'),
});

const definitionParser = new XMLParser({
  ...common,
  isArray: (name, _jpath, _leaf, isAttribute) =>
    !isAttribute &&
    [
      'criteria',
      'criterion',
      'extend_definition',
      'reference',
      'platform',
      'cve',
      'bugzilla',
      'cpe',
    ].includes(name),
});

/** The document could not be read as OVAL definitions at all. */
export class NotOvalError extends BosunError {
  readonly fatal = false;
}

/** Reads the document's skeleton; the caller has checked that `xml` is well-formed. */
export function readDocument(xml: string, maxDefinitions: number): OvalDocument {
  const doc = parsed(topParser, xml, 'the document') as { oval_definitions?: unknown };
  const root = doc.oval_definitions;
  if (root === null || typeof root !== 'object')
    throw new NotOvalError('no <oval_definitions> element; not an OVAL definitions document');
  const r = root as Attrs;
  const definitions = list((r.definitions as Attrs | undefined)?.definition).map((d) => ({
    id: attr(d, 'id') ?? '',
    ...(attr(d, 'class') === undefined ? {} : { class: attr(d, 'class') as string }),
    body: typeof d['#text'] === 'string' ? d['#text'] : '',
  }));
  if (definitions.length > maxDefinitions)
    throw new NotOvalError(
      `${definitions.length} definitions, over the ${maxDefinitions} an OVAL file may have here`,
    );
  const tests = new Map<string, OvalTest>();
  const objects = new Map<string, OvalObject>();
  const states = new Map<string, OvalState>();
  const oddities: string[] = [];
  for (const [key, value] of Object.entries(r)) {
    if (key.startsWith('@_') || key.startsWith('#') || key === 'generator' || key === 'definitions')
      continue;
    // A known container arrives as raw text (a stop node); anything else was parsed in place.
    const content =
      typeof value === 'string'
        ? parsed(containerParser, value, `<${key}>`)
        : value !== null && typeof value === 'object'
          ? (value as Attrs)
          : {};
    if (!(CONTAINERS as readonly string[]).includes(key) && key !== 'variables')
      oddities.push(
        `<${key}> is no element of oval_definitions; its tests, objects and states are read`,
      );
    index(content, tests, objects, states);
  }
  const timestamp = text((r.generator as Attrs | undefined)?.timestamp);
  return {
    ...(timestamp === undefined ? {} : { timestamp }),
    definitions,
    tests,
    objects,
    states,
    oddities,
  };
}

function index(
  content: Attrs,
  tests: Map<string, OvalTest>,
  objects: Map<string, OvalObject>,
  states: Map<string, OvalState>,
): void {
  for (const [kind, entries] of Object.entries(content)) {
    for (const e of list(entries)) {
      const id = attr(e, 'id');
      if (id === undefined) continue;
      if (kind.endsWith('_test')) {
        const objectRef = attr(e.object, 'object_ref');
        tests.set(id, {
          id,
          kind,
          ...(attr(e, 'comment') === undefined ? {} : { comment: attr(e, 'comment') as string }),
          ...(objectRef === undefined ? {} : { objectRef }),
          stateRefs: list(e.state).flatMap((s) => attr(s, 'state_ref') ?? []),
        });
      } else if (kind.endsWith('_object')) {
        // A name with an operation or a variable is a pattern, not one package.
        const plain =
          typeof e.name === 'string' ||
          ((attr(e.name, 'operation') ?? 'equals') === 'equals' &&
            attr(e.name, 'var_ref') === undefined);
        const name = plain ? text(e.name) : undefined;
        objects.set(id, { id, kind, ...(name === undefined ? {} : { name }) });
      } else if (kind.endsWith('_state')) {
        const entities = new Map<string, StateEntity>();
        for (const [k, v] of Object.entries(e)) {
          if (k.startsWith('@_')) continue;
          const value = text(v);
          if (value === undefined || Array.isArray(v)) continue;
          entities.set(k, { value, operation: attr(v, 'operation') ?? 'equals' });
        }
        states.set(id, { id, kind, entities });
      }
    }
  }
}

/**
 * The parser's own word on `xml`. The validator the callers run first and the parser disagree
 * on some broken documents (an unclosed CDATA inside a stop node, two DOCTYPEs): what the parser
 * refuses is a typed error, never its bare Error.
 */
function parsed(parser: XMLParser, xml: string, what: string): Attrs {
  try {
    return parser.parse(xml) as Attrs;
  } catch (error) {
    throw new NotOvalError(`${what} is not readable XML: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * A definition's content: `metadata` and `criteria` as parsed elements; undefined, with an
 * issue on the definition, when its XML cannot be read.
 */
export function definitionContent(
  def: RawDefinition,
  ctx: Pick<OvalContext, 'issue'>,
): { metadata: Attrs; criteria?: Attrs } | undefined {
  let parsedDefinition: Attrs;
  try {
    parsedDefinition = parsed(definitionParser, def.body, 'the definition');
  } catch (error) {
    if (!(error instanceof NotOvalError)) throw error;
    ctx.issue(def.id, `${error.message}; skipped`);
    return undefined;
  }
  const criteria = list(parsedDefinition.criteria)[0];
  return {
    metadata: (list(parsedDefinition.metadata)[0] ?? {}) as Attrs,
    ...(criteria === undefined ? {} : { criteria }),
  };
}

/** A criterion as written, and what it names in the document (missing parts undefined). */
export interface Criterion {
  readonly testRef: string;
  readonly comment?: string;
  readonly test?: OvalTest;
  readonly object?: OvalObject;
  readonly states: readonly OvalState[];
  /** State refs the document does not hold. */
  readonly missingStates: readonly string[];
}

export type VersionOp = 'lt' | 'le' | 'gt' | 'ge' | 'eq';

/** What a publisher makes of one criterion. */
export type Term =
  /** The release or product the criterion requires: a key the publisher maps to an ecosystem. */
  | { readonly kind: 'platform'; readonly platform: string }
  | { readonly kind: 'arch'; readonly arch: string }
  /** A package installed at a version (op undefined: at any version). */
  | {
      readonly kind: 'package';
      readonly name: string;
      readonly op?: VersionOp;
      readonly evr?: string;
    }
  /** Holds for every package Bosun matches (a signature key: the distribution's own package). */
  | { readonly kind: 'true' }
  /** Never holds (SUSE's "not affected": a package version equal to 0). */
  | { readonly kind: 'false' }
  /** Oracle's Ksplice userspace packages (a release matching `ksplice`). */
  | { readonly kind: 'ksplice' }
  | { readonly kind: 'module'; readonly module: string }
  | { readonly kind: 'unknown'; readonly why: string };

export interface PackageCondition {
  readonly name: string;
  readonly op?: VersionOp;
  readonly evr?: string;
}

/** A conjunction: every term holds. Sets are disjunctions (one of these platforms). */
export interface Clause {
  readonly platforms?: ReadonlySet<string>;
  readonly arches?: ReadonlySet<string>;
  readonly packages: readonly PackageCondition[];
  readonly modules: readonly string[];
  readonly ksplice: boolean;
  readonly never: boolean;
  readonly unknown: readonly string[];
}

const TRUE: Clause = { packages: [], modules: [], ksplice: false, never: false, unknown: [] };

function clauseOf(term: Term): Clause {
  switch (term.kind) {
    case 'platform':
      return { ...TRUE, platforms: new Set([term.platform]) };
    case 'arch':
      return { ...TRUE, arches: new Set([term.arch]) };
    case 'package':
      return {
        ...TRUE,
        packages: [
          {
            name: term.name,
            ...(term.op === undefined ? {} : { op: term.op }),
            ...(term.evr === undefined ? {} : { evr: term.evr }),
          },
        ],
      };
    case 'true':
      return TRUE;
    case 'false':
      return { ...TRUE, never: true };
    case 'ksplice':
      return { ...TRUE, ksplice: true };
    case 'module':
      return { ...TRUE, modules: [term.module] };
    case 'unknown':
      return { ...TRUE, unknown: [term.why] };
  }
}

const intersect = (a?: ReadonlySet<string>, b?: ReadonlySet<string>) =>
  a === undefined ? b : b === undefined ? a : new Set([...a].filter((x) => b.has(x)));

function and(a: Clause, b: Clause): Clause {
  const platforms = intersect(a.platforms, b.platforms);
  const arches = intersect(a.arches, b.arches);
  return {
    ...(platforms === undefined ? {} : { platforms }),
    ...(arches === undefined ? {} : { arches }),
    packages: [...a.packages, ...b.packages],
    modules: [...a.modules, ...b.modules],
    ksplice: a.ksplice || b.ksplice,
    // Two different platforms (or arches) required at once can never hold.
    never: a.never || b.never || platforms?.size === 0 || arches?.size === 0,
    unknown: [...a.unknown, ...b.unknown],
  };
}

/** A clause that requires nothing but one of some platforms, or of some arches. */
const bare = (c: Clause) =>
  c.packages.length === 0 &&
  c.modules.length === 0 &&
  !c.ksplice &&
  !c.never &&
  c.unknown.length === 0;
const onlyPlatforms = (c: Clause) => bare(c) && c.platforms !== undefined && c.arches === undefined;
const onlyArches = (c: Clause) => bare(c) && c.arches !== undefined && c.platforms === undefined;

/**
 * A disjunction. Alternatives that only name platforms (`SLES 15 is installed OR SLED 15 is
 * installed`) become one clause with the set, so that ANDing them with a list of packages stays
 * one clause per package instead of one per product and package.
 */
function or(clauses: readonly Clause[]): Clause[] {
  const out: Clause[] = [];
  const platforms = new Set<string>();
  const arches = new Set<string>();
  for (const c of clauses) {
    if (onlyPlatforms(c)) for (const p of c.platforms ?? []) platforms.add(p);
    else if (onlyArches(c)) for (const a of c.arches ?? []) arches.add(a);
    else out.push(c);
  }
  if (platforms.size > 0) out.unshift({ ...TRUE, platforms });
  if (arches.size > 0) out.unshift({ ...TRUE, arches });
  return out;
}

/** More clauses than any real definition has: the definition is refused, not expanded. */
export class CriteriaTooLargeError extends BosunError {
  readonly fatal = false;
}

/**
 * A criteria tree as clauses. `classify` turns each criterion into a term; negated or
 * extended parts and the ONE/XOR operators are terms Bosun cannot evaluate.
 */
export function clausesOf(
  criteria: Attrs,
  classify: (c: Criterion) => Term,
  resolve: (c: Attrs) => Criterion,
  maxClauses: number,
): Clause[] {
  const node = (n: Attrs): Clause[] => {
    if (attr(n, 'negate') === 'true')
      return [clauseOf({ kind: 'unknown', why: 'negated criteria' })];
    const operator = attr(n, 'operator') ?? 'AND';
    const children: Clause[][] = [
      ...list(n.criteria).map(node),
      ...list(n.criterion).map((c) =>
        attr(c, 'negate') === 'true'
          ? [clauseOf({ kind: 'unknown', why: `negated criterion ${attr(c, 'test_ref') ?? ''}` })]
          : [clauseOf(classify(resolve(c)))],
      ),
      ...list(n.extend_definition).map((e) => [
        clauseOf({
          kind: 'unknown',
          why: `extend_definition ${JSON.stringify(attr(e, 'definition_ref') ?? '')}`,
        }),
      ]),
    ];
    if (operator === 'OR') return or(children.flat());
    if (operator !== 'AND')
      return [clauseOf({ kind: 'unknown', why: `criteria operator ${JSON.stringify(operator)}` })];
    let product: Clause[] = [TRUE];
    for (const child of children) {
      if (product.length * child.length > maxClauses)
        throw new CriteriaTooLargeError(`criteria expand past ${maxClauses} alternatives`);
      product = product.flatMap((p) => child.map((c) => and(p, c)));
    }
    return product;
  };
  return node(criteria);
}

/** Resolves a criterion element against the document's tests, objects and states. */
export function resolver(doc: OvalDocument): (c: Attrs) => Criterion {
  return (c) => {
    const testRef = attr(c, 'test_ref') ?? '';
    const test = doc.tests.get(testRef);
    const object = test?.objectRef === undefined ? undefined : doc.objects.get(test.objectRef);
    const states = (test?.stateRefs ?? []).flatMap((s) => doc.states.get(s) ?? []);
    const comment = attr(c, 'comment');
    return {
      testRef,
      ...(comment === undefined ? {} : { comment }),
      ...(test === undefined ? {} : { test }),
      ...(object === undefined ? {} : { object }),
      states,
      missingStates: (test?.stateRefs ?? []).filter((s) => !doc.states.has(s)),
    };
  };
}

// OVAL operations on an evr_string (oval-common-schema OperationEnumeration).
const OPERATIONS: Record<string, VersionOp> = {
  'less than': 'lt',
  'less than or equal': 'le',
  'greater than': 'gt',
  'greater than or equal': 'ge',
  equals: 'eq',
};

/** `0:1.2-3` → `1.2-3`; `30:9.3.3-8.el5` stays: rpm's epoch is written only when not zero. */
export function rpmVersion(evr: string): string {
  const m = /^0*(\d*):(.+)$/.exec(evr.trim());
  if (m === null) return evr.trim();
  return m[1] === '' ? (m[2] as string) : `${m[1]}:${m[2]}`;
}

/**
 * The package term of an rpminfo test whose state compares the package's `evr`; an unknown
 * term for an operation or version Bosun cannot use; undefined when the test is not of that kind.
 */
export function rpminfoPackage(c: Criterion): Term | undefined {
  if (c.test?.kind !== 'rpminfo_test' || c.object?.name === undefined) return undefined;
  const evr = c.states.map((s) => s.entities.get('evr')).find((e) => e !== undefined);
  if (evr === undefined) return undefined;
  const op = OPERATIONS[evr.operation];
  if (op === undefined)
    return { kind: 'unknown', why: `evr operation ${JSON.stringify(evr.operation)}` };
  if (!rpm.valid(evr.value)) return { kind: 'unknown', why: `evr ${JSON.stringify(evr.value)}` };
  return { kind: 'package', name: c.object.name, op, evr: rpmVersion(evr.value) };
}

export interface PackageRange {
  readonly name: string;
  readonly events: readonly OsvEvent[];
}

/**
 * A clause's package conditions as one OSV range, or why they cannot be one (two different
 * packages required together; bounds rpm cannot order). OSV's `introduced` is inclusive, so
 * `greater than v` is written `introduced: v`: v itself is reported too.
 */
export function rangeOf(conditions: readonly PackageCondition[]): PackageRange | string {
  const names = new Set(conditions.map((c) => c.name));
  if (names.size !== 1)
    return names.size === 0
      ? 'no package condition'
      : `a conjunction of packages ${JSON.stringify([...names].sort())}`;
  let lower = '0';
  let upper: OsvEvent | undefined;
  const bound = (e: OsvEvent) =>
    'fixed' in e ? e.fixed : 'last_affected' in e ? e.last_affected : '';
  for (const c of conditions) {
    if (c.op === undefined || c.evr === undefined) continue;
    if (c.op === 'gt' || c.op === 'ge' || c.op === 'eq')
      lower = lower === '0' || rpm.compare(c.evr, lower) > 0 ? c.evr : lower;
    if (c.op === 'lt' || c.op === 'le' || c.op === 'eq') {
      const e: OsvEvent = c.op === 'lt' ? { fixed: c.evr } : { last_affected: c.evr };
      // The tighter bound wins; at one version, `fixed` (before it) is tighter.
      if (upper === undefined || rpm.compare(c.evr, bound(upper)) < 0) upper = e;
      else if (rpm.compare(c.evr, bound(upper)) === 0 && 'fixed' in e) upper = e;
    }
  }
  if (upper !== undefined && lower !== '0' && rpm.compare(lower, bound(upper)) > 0)
    return `bounds ${JSON.stringify(lower)} above ${JSON.stringify(bound(upper))}`;
  return {
    name: [...names][0] as string,
    events: [{ introduced: lower }, ...(upper === undefined ? [] : [upper])],
  };
}

/** The upper bound of a range from 0: `fixed` or `last_affected`; undefined when unbounded. */
function upperOf(events: readonly OsvEvent[]): OsvEvent | undefined {
  return events.find((e) => 'fixed' in e || 'last_affected' in e);
}

/** Orders upper bounds by the versions they leave affected: unbounded is the widest. */
export function compareUpper(a: readonly OsvEvent[], b: readonly OsvEvent[]): number {
  const ua = upperOf(a);
  const ub = upperOf(b);
  if (ua === undefined || ub === undefined) return ua === ub ? 0 : ua === undefined ? 1 : -1;
  const va = 'fixed' in ua ? ua.fixed : 'last_affected' in ua ? ua.last_affected : '';
  const vb = 'fixed' in ub ? ub.fixed : 'last_affected' in ub ? ub.last_affected : '';
  const c = rpm.compare(va, vb);
  if (c !== 0) return c;
  // `last_affected: v` includes v, `fixed: v` does not.
  return ('last_affected' in ua ? 1 : 0) - ('last_affected' in ub ? 1 : 0);
}

/**
 * The union of ranges of one package: ranges that all start at 0 are one range up to the
 * widest bound (a version below any of the fixes is affected by that definition); others are
 * kept as they are, duplicates dropped.
 */
export function unionOf(ranges: readonly (readonly OsvEvent[])[]): OsvEvent[][] {
  const fromZero = ranges.filter((r) => r.some((e) => 'introduced' in e && e.introduced === '0'));
  const others = ranges.filter((r) => !fromZero.includes(r));
  const widest = fromZero.reduce<readonly OsvEvent[] | undefined>(
    (w, r) => (w === undefined || compareUpper(r, w) > 0 ? r : w),
    undefined,
  );
  const seen = new Set<string>();
  return [...(widest === undefined ? [] : [widest]), ...others].flatMap((r) => {
    const key = JSON.stringify(r);
    if (seen.has(key)) return [];
    seen.add(key);
    return [[...r]];
  });
}

/** `2007-06-26`, `2024-07-23T22:05:39Z`, `2021-07-16T05:18:42` (UTC) as RFC 3339; else undefined. */
export function instant(value: string | undefined): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(
    value?.trim() ?? '',
  );
  if (m === null) return undefined;
  const date = new Date(`${m[1]}T${m[2] ?? '00:00:00'}${m[3] ?? ''}${m[4] ?? 'Z'}`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** One alternative of a definition that holds: a package range on a platform (and arches). */
export interface Affect {
  /** The clause's platforms (one of them); undefined when the criteria name none. */
  readonly platforms?: ReadonlySet<string>;
  readonly arches?: ReadonlySet<string>;
  readonly modules: readonly string[];
  readonly name: string;
  readonly events: readonly OsvEvent[];
}

export interface Evaluated {
  readonly affects: readonly Affect[];
  /**
   * The platforms of the alternatives Bosun evaluated, also those where nothing is affected
   * (a platform named only by alternatives it could not evaluate is not among them).
   */
  readonly platforms: ReadonlySet<string>;
  /** Some alternatives could not be evaluated (the issue is reported). */
  readonly partial: boolean;
}

/**
 * Where a definition's criteria hold, as package ranges. Alternatives that never hold (not
 * affected) or that need Ksplice packages contribute nothing; alternatives Bosun cannot
 * evaluate contribute nothing either, and are one issue naming what they need.
 */
export function evaluate(
  criteria: Attrs | undefined,
  classify: (c: Criterion) => Term,
  doc: OvalDocument,
  report: (message: string) => void,
  maxClauses: number,
): Evaluated {
  if (criteria === undefined) {
    report('has no criteria; no affected package');
    return { affects: [], platforms: new Set(), partial: true };
  }
  let clauses: Clause[];
  try {
    clauses = clausesOf(criteria, classify, resolver(doc), maxClauses);
  } catch (error) {
    if (!(error instanceof CriteriaTooLargeError)) throw error;
    report(`${error.message}; no affected package`);
    return { affects: [], platforms: new Set(), partial: true };
  }
  const affects: Affect[] = [];
  const platforms = new Set<string>();
  const problems = new Set<string>();
  for (const c of clauses) {
    if (c.never || c.ksplice) {
      for (const p of c.platforms ?? []) platforms.add(p);
      continue;
    }
    if (c.unknown.length > 0) {
      for (const u of c.unknown) problems.add(u);
      continue;
    }
    const range = rangeOf(c.packages);
    if (typeof range === 'string') {
      problems.add(range);
      continue;
    }
    for (const p of c.platforms ?? []) platforms.add(p);
    affects.push({
      ...(c.platforms === undefined ? {} : { platforms: c.platforms }),
      ...(c.arches === undefined ? {} : { arches: c.arches }),
      modules: c.modules,
      ...range,
    });
  }
  if (problems.size > 0)
    report(
      `criteria Bosun cannot evaluate (${[...problems].sort().join('; ')}); they contribute no affected package`,
    );
  return { affects, platforms, partial: problems.size > 0 };
}

/** What a publisher module reads a document with. */
export interface OvalContext {
  /** The file or URL, named in every issue. */
  readonly source: string;
  readonly doc: OvalDocument;
  /** The generator timestamp as RFC 3339: `modified` of definitions that have no date. */
  readonly timestamp?: string;
  readonly maxClauses: number;
  /** The release the caller says the file is for (Microsoft's files name none inside). */
  readonly release?: string;
  /** An issue about one advisory (`ELSA-2018-4250`, a definition id). */
  issue(advisory: string, message: string): void;
  /** An issue about the whole file. */
  fileIssue(message: string): void;
}

/** An affected entry: the package in its ecosystem, its ranges, and no-fix status if none fixes. */
export function affectedEntry(
  ecosystem: string,
  purlNamespace: string,
  name: string,
  ranges: readonly (readonly OsvEvent[])[],
  extra: { readonly modules?: readonly string[] } = {},
): OsvAffected {
  const fixed = ranges.every((events) => events.some((e) => 'fixed' in e));
  const modules = [...new Set(extra.modules ?? [])].sort();
  return {
    package: { ecosystem, name, purl: `pkg:rpm/${purlNamespace}/${encodeURIComponent(name)}` },
    ranges: ranges.map((events) => ({ type: 'ECOSYSTEM', events: [...events] })),
    // The matcher reads a range without `fixed` as "no fix"; OVAL says no more than that.
    ...(fixed ? {} : { database_specific: { fix_status: 'not-fixed' } }),
    // An Oracle Linux 8+ module stream the fix is for (`Module nodejs:18 is enabled`).
    ...(modules.length === 0 ? {} : { ecosystem_specific: { rpm_modules: modules } }),
  };
}

export const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
