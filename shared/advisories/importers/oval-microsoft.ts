/**
 * Microsoft's OVAL for Azure Linux and CBL-Mariner, its name before 3.0
 * (https://github.com/microsoft/AzureLinuxVulnerabilityData: `azurelinux-3.0-oval.xml`,
 * `cbl-mariner-2.0-oval.xml`, `cbl-mariner-1.0-oval.xml`). Each definition is one CVE in one
 * package: `<reference source="CVE">`, `<patchable>` (`true`: fixed below the state's `evr`,
 * operation `less than`; `false`: no fix, every version up to the state's `evr`, operation
 * `less than or equal`; `Not Applicable`: "no longer is or was never applicable"),
 * `<severity>` and `<advisory_date>`.
 *
 * An unpatched package is `introduced: 0, last_affected: <evr>` with `fix_status: not-fixed`
 * (the versions above the one named are not said to be affected; vunnel reads `<= evr` too).
 * Definitions are merged per CVE and release into one record, `AZL-<release>-<CVE>` (the CVE in
 * `aliases`), one affected entry per package in `Azure Linux:<release>` (osv.dev's name, also
 * for CBL-Mariner 1 and 2). A CVE whose definitions are all Not Applicable is a record without
 * affected packages: the sync never deletes, so a CVE that stops applying must be rewritten.
 * The release is the file's: the caller's when it knows it (a feed source per release), else the
 * one its name says (Microsoft publishes one file per release, named for it), else the one its
 * packages' dist tags (`.azl3`, `.cm2`) agree on; the 2.0 preview file mixes `.cm1` and `.cm2`.
 */
import type { OsvEvent, OsvRecord } from '../osv.js';
import {
  affectedEntry,
  attr,
  byString,
  type Criterion,
  definitionContent,
  evaluate,
  instant,
  list,
  type OvalContext,
  type OvalDocument,
  rpminfoPackage,
  type Term,
  text,
  unionOf,
} from './oval-document.js';

export const MICROSOFT_NAMESPACES = [
  'oval:com.microsoft.azurelinux:',
  'oval:com.microsoft.cbl-mariner:',
] as const;

/** Microsoft's words, highest first: a record of several packages takes the highest. */
const SEVERITY_ORDER = ['Critical', 'High', 'Medium', 'Low'];
const MAX_DETAILS_CHARS = 4_000;

/** `azurelinux-3.0-oval.xml`, `cbl-mariner-2.0-preview-oval.xml` → `3`, `2`. */
export function microsoftReleaseOfName(source: string): string | undefined {
  return /-(\d+)\.\d+(?:-preview)?-oval\.xml(?:\.gz|\.bz2)?$/.exec(source)?.[1];
}

/** The release the packages' dist tags agree on (`0:2.6.7-3.azl3` → `3`), if they do. */
function releaseOfTags(doc: OvalDocument): string | undefined {
  const releases = new Set<string>();
  for (const s of doc.states.values()) {
    const tag = /\.(?:azl|cm)(\d+)$/.exec(s.entities.get('evr')?.value ?? '')?.[1];
    if (tag !== undefined) releases.add(tag);
  }
  return releases.size === 1 ? [...releases][0] : undefined;
}

function classify(c: Criterion): Term {
  return (
    rpminfoPackage(c) ?? {
      kind: 'unknown',
      why:
        c.test === undefined
          ? `test ${JSON.stringify(c.testRef)} that the document does not hold`
          : `${c.test.kind} ${JSON.stringify(c.testRef)} without an rpm package and evr`,
    }
  );
}

/** The definitions of one CVE in one file. */
interface Merged {
  readonly ref: string;
  readonly url?: string;
  readonly titles: string[];
  readonly descriptions: string[];
  readonly severities: string[];
  readonly dates: string[];
  readonly ranges: Map<string, OsvEvent[][]>;
  /** Definitions read to the end (not applicable, or criteria evaluated). */
  evaluated: number;
}

function mergedOf(byRef: Map<string, Merged>, ref: string, url: string | undefined): Merged {
  const known = byRef.get(ref);
  if (known !== undefined) return known;
  const merged: Merged = {
    ref,
    ...(url === undefined ? {} : { url }),
    titles: [],
    descriptions: [],
    severities: [],
    dates: [],
    ranges: new Map(),
    evaluated: 0,
  };
  byRef.set(ref, merged);
  return merged;
}

export function microsoftRecords(ctx: OvalContext): OsvRecord[] {
  const { doc } = ctx;
  const release = ctx.release ?? microsoftReleaseOfName(ctx.source) ?? releaseOfTags(doc);
  if (release === undefined) {
    ctx.fileIssue(
      'names no Azure Linux release: neither its file name (like azurelinux-3.0-oval.xml) nor its packages (.azl3, .cm2) say which; no record',
    );
    return [];
  }
  const byRef = new Map<string, Merged>();
  for (const def of doc.definitions) {
    const content = definitionContent(def, ctx);
    if (content === undefined) continue;
    const { metadata, criteria } = content;
    const refEl = list(metadata.reference).find((r) => attr(r, 'source') === 'CVE');
    const ref = attr(refEl, 'ref_id');
    if (ref === undefined) {
      ctx.issue(def.id, 'names no CVE reference; skipped');
      continue;
    }
    const merged = mergedOf(byRef, ref, attr(refEl, 'ref_url'));
    for (const [into, value] of [
      [merged.titles, text(metadata.title)],
      [merged.descriptions, text(metadata.description)],
      [merged.severities, text(metadata.severity)],
      [merged.dates, instant(text(metadata.advisory_date))],
    ] as const)
      if (value !== undefined) into.push(value);
    const patchable = text(metadata.patchable);
    // "This CVE either no longer is or was never applicable": no affected package.
    if (patchable === 'Not Applicable') {
      merged.evaluated++;
      continue;
    }
    if (patchable !== 'true' && patchable !== 'false') {
      ctx.issue(
        def.id,
        `${ref}: patchable ${JSON.stringify(patchable ?? '')} is not true, false or Not Applicable; no affected package`,
      );
      continue;
    }
    const { affects, partial } = evaluate(
      criteria,
      classify,
      doc,
      (m) => ctx.issue(def.id, `${ref} ${m}`),
      ctx.maxClauses,
    );
    if (!partial || affects.length > 0) merged.evaluated++;
    for (const a of affects)
      merged.ranges.set(a.name, [...(merged.ranges.get(a.name) ?? []), [...a.events]]);
  }
  const ecosystem = `Azure Linux:${release}`;
  // PURL-TYPES' rpm namespace is the distribution's: Microsoft's `mariner` before 3.0.
  const namespace = Number(release) >= 3 ? 'azurelinux' : 'mariner';
  return [...byRef.values()].flatMap((m) => {
    // A record without packages says "not affected": never for definitions Bosun cannot read.
    if (m.evaluated === 0) {
      ctx.issue(m.ref, 'has no definition Bosun could evaluate; no record');
      return [];
    }
    const dates = [...m.dates].sort();
    // Definitions without advisory_date (unpatched, not applicable) take the file's timestamp.
    const modified = dates.at(-1) ?? ctx.timestamp;
    if (modified === undefined) {
      ctx.issue(m.ref, 'has no advisory_date and the document no generator timestamp; skipped');
      return [];
    }
    const severity = [...m.severities].sort((a, b) => rank(a) - rank(b))[0];
    const record: OsvRecord = {
      id: `AZL-${release}-${m.ref}`,
      modified,
      ...(dates[0] === undefined ? {} : { published: dates[0] }),
      aliases: [m.ref],
      ...(m.titles.length === 1 ? { summary: m.titles[0] as string } : {}),
      ...(m.descriptions.length === 0
        ? {}
        : { details: [...new Set(m.descriptions)].join('\n').slice(0, MAX_DETAILS_CHARS) }),
      // Several definitions of one CVE and package (a later fix) are one range, their union.
      affected: [...m.ranges.entries()]
        .sort(([a], [b]) => byString(a, b))
        .map(([name, ranges]) => affectedEntry(ecosystem, namespace, name, unionOf(ranges))),
      ...(severity === undefined ? {} : { database_specific: { severity } }),
      ...(m.url === undefined ? {} : { references: [{ type: 'WEB', url: m.url }] }),
    };
    return [record];
  });
}

const rank = (word: string) => {
  const i = SEVERITY_ORDER.indexOf(word);
  return i < 0 ? SEVERITY_ORDER.length : i;
};
