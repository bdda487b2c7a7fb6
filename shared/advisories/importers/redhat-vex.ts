/**
 * Red Hat's CSAF VEX documents: one CSAF 2.0 document (profile `csaf_vex`) per CVE, saying for
 * every product stream and component whether it is fixed (and in which build), known affected
 * (and whether a fix will come), known not affected, or under investigation.
 * https://docs.oasis-open.org/csaf/csaf/v2.0/csaf-v2.0.html (the format) and
 * https://redhatproductsecurity.github.io/security-data-guidelines/csaf-vex/ (how Red Hat fills
 * it: product tree, relationships, remediations).
 *
 * A document becomes one OSV record per vulnerability (Red Hat writes exactly one, the CVE the
 * document is named after), with the id `REDHAT-<CVE>` and the CVE as its alias: the record IS
 * the CVE as Red Hat sees it. osv.dev's own Red Hat records are `RHSA-…`, one per erratum and
 * fixed builds only; the matcher merges every record naming one CVE into one finding, so both
 * can be loaded side by side.
 *
 * The product tree is read as Red Hat lays it out: a `product_name` branch is a product stream
 * with a CPE (`cpe:/a:redhat:enterprise_linux:9::appstream`); a `product_version` branch is a
 * component with a purl (`pkg:rpm/redhat/curl@7.76.1-26.el9_3.2?arch=src`, no version when it
 * is not fixed); a `default_component_of` relationship joins the two under the product id the
 * statuses name (`AppStream-9.3.0.Z.MAIN:curl-0:7.76.1-26.el9_3.2.src`). Each rpm component of
 * a stream becomes an affected entry in the ecosystem `Red Hat:<CPE without cpe:/a:redhat:>`,
 * exactly as osv.dev names Red Hat's per-repository ecosystems, under the rpm name of its purl
 * (source and binary names both). Containers (`pkg:oci/…`), middleware (`pkg:maven`,
 * `pkg:generic`) and components with no purl at all (documents from before Red Hat added them)
 * name no rpm a scanner finds: they are left out without an issue.
 *
 * - `fixed`: fixed at the component's EVR, the lowest one per ecosystem and name (several
 *   streams share one repository CPE, and arches repeat the same build).
 * - `known_affected`: no fix; the remediation says why. `no_fix_planned` ("Will not fix", "Out
 *   of support scope") is `will-not-fix`; `none_available` is `fix-deferred` when Red Hat words it
 *   as a deferral ("Fix deferred"; its guidelines say "Deferred") and `not-fixed` otherwise
 *   ("Affected": a fix is likely in progress), as is a product with no remediation.
 * - `known_not_affected`: no entry.
 * - `under_investigation`: no entry either. Red Hat has not said whether the product is
 *   affected; a finding would be a guess, and once Red Hat decides the document changes (and
 *   changes.csv names it, so the feed source reads it again).
 *
 * Modules (`…::perl-FCGI:0.78` product ids, `rpmmod=` purl qualifiers): the entry keeps the rpm
 * name. Bosun does not model module streams, so builds of one package in several streams (or
 * module contexts) of a repository are merged like any other: their lowest EVR is the fix.
 */

import { rpm } from '../../versions/rpm.js';
import type { OsvAffected, OsvRecord } from '../osv.js';
import { type Purl, parsePurl } from '../purl.js';
import { type ImportIssue, pushValid } from './decode.js';

/** The largest real documents (kernel CVEs) are tens of MB; more is not a VEX document. */
export const MAX_VEX_DOCUMENT_BYTES = 64 * 1024 * 1024;
/** Product tree nodes and relationships of one document (CVE-2022-38752 has about 4,000). */
const MAX_PRODUCTS = 200_000;
const MAX_BRANCH_DEPTH = 16;
/** Relationships may nest (a component of a component); Red Hat's are one level deep. */
const MAX_RELATIONSHIP_DEPTH = 5;
const MAX_DETAILS_CHARS = 4_000;
const MAX_REFERENCES = 64;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const CVE_ID = /^CVE-\d{4}-\d{4,}$/;

/** The record id of a CVE's VEX document. */
export const redHatVexId = (cve: string): string => `REDHAT-${cve}`;

/**
 * Whether a decoded JSON document is a Red Hat CSAF VEX document: CSAF category `csaf_vex`,
 * published by Red Hat (its advisories, `csaf_security_advisory`, are not VEX documents).
 */
export function isRedHatVex(doc: unknown): boolean {
  const document = obj(obj(doc)?.document);
  const publisher = obj(document?.publisher);
  return (
    document?.category === 'csaf_vex' &&
    (publisher?.namespace === 'https://www.redhat.com' ||
      /^Red Hat\b/.test(str(publisher?.name) ?? ''))
  );
}

/** An RFC 3339 date-time as an instant (`…+00:00` → `…Z`); undefined when it is not one. */
function instant(value: unknown): string | undefined {
  const s = str(value)?.trim() ?? '';
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(s))
    return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** Problems of one document, one issue per kind with the first offending value and a count. */
class Problems {
  private readonly byKind = new Map<string, { first: string; count: number }>();
  constructor(
    private readonly source: string,
    private readonly issues: ImportIssue[],
  ) {}

  add(kind: string, value: string): void {
    const hit = this.byKind.get(kind);
    if (hit === undefined) this.byKind.set(kind, { first: value, count: 1 });
    else hit.count++;
  }

  flush(label: string): void {
    for (const [kind, { first, count }] of this.byKind)
      this.issues.push({
        source: this.source,
        message: `${this.source}: ${label}: ${kind}: ${JSON.stringify(first)}${count > 1 ? ` and ${count - 1} more` : ''}; skipped`,
      });
    this.byKind.clear();
  }
}

/** `E:V-R`, the epoch written only when it is not 0 (how rpm and the matcher order it). */
function evr(epoch: string | undefined, versionRelease: string): string {
  const e = epoch?.trim() ?? '';
  return e === '' || /^0+$/.test(e) ? versionRelease : `${e}:${versionRelease}`;
}

/**
 * The EVR of a fixed component: its purl's version and `epoch` qualifier, or else the NEVRA of
 * its product id (`openssl-1:3.0.7-27.el9.x86_64`, `…::perl-FCGI:0.78` for a module build).
 */
function fixedEvr(purl: Purl, componentId: string): string | undefined {
  if (purl.version !== undefined) return evr(purl.qualifiers.get('epoch'), purl.version);
  const nevra = componentId.split('::')[0] ?? '';
  const m = /^(.+)-(\d+):([^-:]+)-(.+)\.[^.]+$/.exec(nevra);
  return m === null || m[1] !== purl.name ? undefined : evr(m[2], `${m[3]}-${m[4]}`);
}

/** The ecosystem of a Red Hat product CPE, as osv.dev writes it. */
function ecosystemOf(cpe: string): string | undefined {
  const m = /^cpe:\/[aho]:redhat:(.+)$/.exec(cpe.trim());
  return m === null ? undefined : `Red Hat:${m[1]}`;
}

interface Product {
  readonly cpe?: string;
  readonly purl?: string;
}
interface Relationship {
  readonly component: string;
  readonly stream: string;
}
interface ProductTree {
  readonly products: Map<string, Product>;
  readonly relationships: Map<string, Relationship>;
}

/** The product tree's products (branches, full_product_names) and relationships, bounded. */
function readProductTree(tree: Json | undefined): ProductTree | string {
  const products = new Map<string, Product>();
  const relationships = new Map<string, Relationship>();
  let count = 0;
  const add = (product: unknown) => {
    const p = obj(product);
    const id = str(p?.product_id);
    if (id === undefined) return;
    const helper = obj(p?.product_identification_helper);
    const cpe = str(helper?.cpe);
    const purl = str(helper?.purl);
    products.set(id, {
      ...(cpe === undefined ? {} : { cpe }),
      ...(purl === undefined ? {} : { purl }),
    });
  };
  const stack = arr(tree?.branches).map((b) => ({ branch: b, depth: 1 }));
  while (stack.length > 0) {
    const { branch, depth } = stack.pop() as { branch: unknown; depth: number };
    if (++count > MAX_PRODUCTS) return `over ${MAX_PRODUCTS} products`;
    if (depth > MAX_BRANCH_DEPTH) return `branches nested over ${MAX_BRANCH_DEPTH} deep`;
    const b = obj(branch);
    add(b?.product);
    for (const child of arr(b?.branches)) stack.push({ branch: child, depth: depth + 1 });
  }
  for (const p of arr(tree?.full_product_names)) {
    if (++count > MAX_PRODUCTS) return `over ${MAX_PRODUCTS} products`;
    add(p);
  }
  for (const r of arr(tree?.relationships)) {
    if (++count > MAX_PRODUCTS) return `over ${MAX_PRODUCTS} products`;
    const rel = obj(r);
    // Red Hat joins components to streams with `default_component_of` only; the other CSAF
    // categories (installed_on, optional_component_of…) do not say the stream ships it.
    if (rel?.category !== 'default_component_of') continue;
    const id = str(obj(rel.full_product_name)?.product_id);
    const component = str(rel.product_reference);
    const stream = str(rel.relates_to_product_reference);
    if (id !== undefined && component !== undefined && stream !== undefined)
      relationships.set(id, { component, stream });
  }
  return { products, relationships };
}

/** Follows nested relationships down to the innermost component and out to the outermost stream. */
function resolve(
  tree: ProductTree,
  id: string,
): { component: string; stream: string } | 'product' | undefined {
  const rel = tree.relationships.get(id);
  if (rel === undefined) return tree.products.has(id) ? 'product' : undefined;
  let { component, stream } = rel;
  for (let i = 0; i < MAX_RELATIONSHIP_DEPTH; i++) {
    const inner = tree.relationships.get(component);
    if (inner === undefined) break;
    component = inner.component;
  }
  for (let i = 0; i < MAX_RELATIONSHIP_DEPTH; i++) {
    const outer = tree.relationships.get(stream);
    if (outer === undefined) break;
    stream = outer.stream;
  }
  return { component, stream };
}

/** The rpm a status's product id names in a stream: ecosystem, name, and the component id. */
interface RpmInStream {
  readonly ecosystem: string;
  readonly name: string;
  readonly purl: Purl;
  readonly componentId: string;
}

function rpmOf(tree: ProductTree, id: string, problems: Problems): RpmInStream | undefined {
  const resolved = resolve(tree, id);
  if (resolved === undefined) {
    problems.add('product id the product tree does not define', id);
    return undefined;
  }
  // A whole product (a middleware release fixed as one): no package to match.
  if (resolved === 'product') return undefined;
  const component = tree.products.get(resolved.component);
  const stream = tree.products.get(resolved.stream);
  if (component === undefined || stream === undefined) {
    problems.add('relationship to a product the product tree does not define', id);
    return undefined;
  }
  if (component.purl === undefined) return undefined;
  const purl = parsePurl(component.purl);
  if (purl === undefined) {
    problems.add('malformed purl', component.purl);
    return undefined;
  }
  // Only Red Hat's rpms: containers, middleware and third-party rpms are not matched here.
  if (purl.type !== 'rpm' || purl.namespace !== 'redhat') return undefined;
  const ecosystem = stream.cpe === undefined ? undefined : ecosystemOf(stream.cpe);
  if (ecosystem === undefined) {
    problems.add('product stream without a Red Hat CPE', `${resolved.stream} ${stream.cpe ?? ''}`);
    return undefined;
  }
  return { ecosystem, name: purl.name, purl, componentId: resolved.component };
}

export type FixStatus = 'not-fixed' | 'will-not-fix' | 'fix-deferred';
/** When products of one repository disagree, the most hopeful word wins: a fix may still come. */
const HOPE: Record<FixStatus, number> = { 'not-fixed': 0, 'fix-deferred': 1, 'will-not-fix': 2 };

/** The fix status Red Hat's remediations give each known-affected product id. */
function fixStatuses(vulnerability: Json): Map<string, FixStatus> {
  const out = new Map<string, FixStatus>();
  for (const r of arr(vulnerability.remediations)) {
    const rem = obj(r);
    const category = str(rem?.category);
    const status: FixStatus | undefined =
      category === 'no_fix_planned'
        ? 'will-not-fix'
        : category === 'none_available'
          ? /defer/i.test(str(rem?.details) ?? '')
            ? 'fix-deferred'
            : 'not-fixed'
          : undefined;
    if (status === undefined) continue;
    for (const id of arr(rem?.product_ids)) {
      if (typeof id !== 'string') continue;
      const had = out.get(id);
      if (had === undefined || HOPE[status] < HOPE[had]) out.set(id, status);
    }
  }
  return out;
}

type Verdict = { fixed: string } | { status: FixStatus };

/** Per `ecosystem\0name`: the lowest fixed EVR, or else why there is no fix. */
function verdicts(
  vulnerability: Json,
  tree: ProductTree,
  problems: Problems,
): Map<string, Verdict> {
  const out = new Map<string, Verdict>();
  const status = obj(vulnerability.product_status);
  for (const id of arr(status?.fixed)) {
    if (typeof id !== 'string') continue;
    const hit = rpmOf(tree, id, problems);
    if (hit === undefined) continue;
    const fixed = fixedEvr(hit.purl, hit.componentId);
    if (fixed === undefined || !rpm.valid(fixed)) {
      problems.add('fixed component without an rpm version', id);
      continue;
    }
    const key = `${hit.ecosystem}\u0000${hit.name}`;
    const had = out.get(key);
    if (had === undefined || !('fixed' in had) || rpm.compare(fixed, had.fixed) < 0)
      out.set(key, { fixed });
  }
  const statuses = fixStatuses(vulnerability);
  for (const id of arr(status?.known_affected)) {
    if (typeof id !== 'string') continue;
    const hit = rpmOf(tree, id, problems);
    if (hit === undefined) continue;
    const key = `${hit.ecosystem}\u0000${hit.name}`;
    const had = out.get(key);
    // A fix published in the repository is its answer, even if another stream of the same
    // repository (a module stream) is still waiting for one.
    if (had !== undefined && 'fixed' in had) continue;
    const word = statuses.get(id) ?? 'not-fixed';
    if (had === undefined || HOPE[word] < HOPE[had.status]) out.set(key, { status: word });
  }
  return out;
}

function affectedOf(verdict: Map<string, Verdict>): OsvAffected[] {
  return [...verdict]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, v]) => {
      const [ecosystem, name] = key.split('\u0000') as [string, string];
      return {
        package: { ecosystem, name, purl: `pkg:rpm/redhat/${encodeURIComponent(name)}` },
        ranges: [
          {
            type: 'ECOSYSTEM' as const,
            events:
              'fixed' in v ? [{ introduced: '0' }, { fixed: v.fixed }] : [{ introduced: '0' }],
          },
        ],
        ...('status' in v ? { database_specific: { fix_status: v.status } } : {}),
      };
    });
}

/** Red Hat's impact word (Important, Moderate…), or the document's aggregate severity. */
function severityWord(vulnerability: Json, document: Json): string | undefined {
  const impact = arr(vulnerability.threats)
    .map(obj)
    .find((t) => t?.category === 'impact' && typeof t.details === 'string');
  const word = str(impact?.details) ?? str(obj(document.aggregate_severity)?.text);
  return word?.trim() === '' ? undefined : word?.trim();
}

function cvssVector(vulnerability: Json, problems: Problems): string | undefined {
  for (const s of arr(vulnerability.scores)) {
    const vector = str(obj(obj(s)?.cvss_v3)?.vectorString);
    if (vector === undefined) continue;
    if (/^CVSS:3\.[01]\/[A-Z]+:[A-Z](\/[A-Z]+:[A-Z])*$/.test(vector)) return vector;
    problems.add('CVSS v3 vector that is not one', vector);
  }
  return undefined;
}

function referencesOf(vulnerability: Json, document: Json): { type: string; url: string }[] {
  const refs = new Map<string, string>();
  const add = (url: unknown, type: string) => {
    if (typeof url === 'string' && /^https?:\/\//.test(url) && !refs.has(url)) refs.set(url, type);
  };
  for (const r of arr(document.references))
    if (obj(r)?.category === 'self') add(obj(r)?.url, 'ADVISORY');
  for (const r of arr(vulnerability.references)) {
    const url = str(obj(r)?.url) ?? '';
    add(
      url,
      /bugzilla\.redhat\.com/.test(url)
        ? 'REPORT'
        : obj(r)?.category === 'self'
          ? 'ADVISORY'
          : 'WEB',
    );
  }
  // The errata that fixed it (RHSA-…).
  for (const r of arr(vulnerability.remediations))
    if (obj(r)?.category === 'vendor_fix') add(obj(r)?.url, 'ADVISORY');
  return [...refs].slice(0, MAX_REFERENCES).map(([url, type]) => ({ type, url }));
}

function detailsOf(vulnerability: Json): string | undefined {
  const notes = arr(vulnerability.notes).map(obj);
  const note =
    notes.find((n) => n?.category === 'description') ??
    notes.find((n) => n?.category === 'summary');
  const text = str(note?.text)?.trim();
  return text === undefined || text === '' ? undefined : text.slice(0, MAX_DETAILS_CHARS);
}

/** One vulnerability of a document as an OSV record, or undefined (problems say why). */
function recordOf(
  vulnerability: Json,
  document: Json,
  tree: ProductTree,
  dates: { modified: string; published?: string },
  problems: Problems,
): OsvRecord | undefined {
  const cve = str(vulnerability.cve)?.trim() ?? '';
  if (!CVE_ID.test(cve)) {
    problems.add('vulnerability without a CVE id', cve);
    return undefined;
  }
  const severity = severityWord(vulnerability, document);
  const vector = cvssVector(vulnerability, problems);
  const summary = (str(vulnerability.title) ?? str(document.title))?.trim();
  const details = detailsOf(vulnerability);
  return {
    id: redHatVexId(cve),
    modified: dates.modified,
    ...(dates.published === undefined ? {} : { published: dates.published }),
    aliases: [cve],
    ...(summary === undefined || summary === '' ? {} : { summary }),
    ...(details === undefined ? {} : { details }),
    ...(vector === undefined ? {} : { severity: [{ type: 'CVSS_V3', score: vector }] }),
    affected: affectedOf(verdicts(vulnerability, tree, problems)),
    references: referencesOf(vulnerability, document),
    ...(severity === undefined ? {} : { database_specific: { severity } }),
  };
}

/** The decoded document, or an issue saying why it is not a readable Red Hat VEX document. */
function decodeDocument(text: string, source: string, issues: ImportIssue[]): Json | undefined {
  const fail = (message: string) => {
    issues.push({ source, message: `${source}: ${message}` });
    return undefined;
  };
  if (text.length > MAX_VEX_DOCUMENT_BYTES)
    return fail(`over ${MAX_VEX_DOCUMENT_BYTES} characters; not a VEX document`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return fail(`not JSON: ${(error as Error).message}`);
  }
  if (!isRedHatVex(doc)) {
    const d = obj(obj(doc)?.document);
    return fail(
      `not a Red Hat CSAF VEX document (category ${JSON.stringify(d?.category ?? null)}, publisher ${JSON.stringify(obj(d?.publisher)?.name ?? null)})`,
    );
  }
  return doc as Json;
}

/**
 * The records of one Red Hat VEX document. A document that cannot be read is one issue and no
 * record; a product, component or score that cannot be read is an issue (one per kind of
 * problem, naming the first value) and the rest of the document loads.
 */
export function importRedHatVex(text: string, source: string, issues: ImportIssue[]): OsvRecord[] {
  const doc = decodeDocument(text, source, issues);
  if (doc === undefined) return [];
  const document = obj(doc.document) as Json;
  const tracking = obj(document.tracking);
  const label = str(tracking?.id) ?? 'document';
  const modified = instant(tracking?.current_release_date);
  if (modified === undefined) {
    issues.push({
      source,
      message: `${source}: ${label}: current_release_date ${JSON.stringify(tracking?.current_release_date ?? null)} is not an RFC 3339 date-time; skipped`,
    });
    return [];
  }
  const published = instant(tracking?.initial_release_date);
  const tree = readProductTree(obj(doc.product_tree));
  const vulnerabilities = arr(doc.vulnerabilities).map(obj);
  if (typeof tree === 'string' || vulnerabilities.length === 0) {
    issues.push({
      source,
      message: `${source}: ${label}: ${typeof tree === 'string' ? `product tree ${tree}` : 'no vulnerability'}; skipped`,
    });
    return [];
  }
  const problems = new Problems(source, issues);
  const records: OsvRecord[] = [];
  const dates = { modified, ...(published === undefined ? {} : { published }) };
  for (const [i, v] of vulnerabilities.entries()) {
    if (v === undefined)
      problems.add('vulnerability that is not an object', `vulnerabilities[${i}]`);
    const record = v === undefined ? undefined : recordOf(v, document, tree, dates, problems);
    problems.flush(label);
    if (record === undefined) continue;
    pushValid(records, record, source, issues);
  }
  return records;
}
