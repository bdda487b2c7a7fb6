/**
 * Amazon Linux Security Advisories (ALAS) as the repositories publish them: yum's
 * `updateinfo.xml` (repodata/repomd.xml names it, usually gzip'd), one `<update>` per advisory:
 * id, severity (`critical`, `important`, `medium`, `low`; AL2023 capitalises them), issued and
 * updated dates, CVE references, and the fixed binary packages with name, epoch, version,
 * release and arch. https://docs.aws.amazon.com/linux/al2023/ug/updating.html
 *
 * Each update becomes an OSV record in Bosun's own ecosystem names (osv.dev has none for Amazon
 * Linux): `Amazon Linux:1`, `Amazon Linux:2`, `Amazon Linux:2022`, `Amazon Linux:2023`. The
 * release is the repository's when the caller knows it (a feed source per release); otherwise it
 * comes from the id: ALAS2-, ALAS2022-, ALAS2023-, and ALAS- for Amazon Linux 1. Ids of AL2's
 * extras repositories (ALASTOMCAT9-2025-016, ALASKERNEL-5.15-2023-024) name a topic, not a
 * release: without the caller's release such an update is an issue. The CVEs go to `upstream`,
 * so that a finding is one per CVE; the fixed version is the binary package's EVR, epoch
 * written as rpm orders it (`1:1.0.2k-24.amzn2.0.1`).
 */
import { gunzipSync } from 'node:zlib';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { OsvRecord } from '../osv.js';
import { type ImportIssue, pushValid } from './decode.js';

/** An updateinfo far beyond any real one (AL2 core's inflates to tens of MB) is refused. */
const MAX_XML_BYTES = 128 * 1024 * 1024;
const MAX_DETAILS_CHARS = 4_000;

/** Whether a file name is an updateinfo file (`updateinfo.xml`, `…-updateinfo.xml.gz`). */
export function isUpdateInfoName(name: string): boolean {
  return /updateinfo[^/]*\.xml(\.gz)?$/.test(name);
}

/** Any ALAS id: core (`ALAS2023-2023-001`) or extras (`ALASKERNEL-5.15-2023-024`). */
const ALAS_ID = /^ALAS[A-Z0-9.]*(?:-[0-9.]+)?-\d{4}-\d+$/;

/**
 * The Amazon Linux release an ALAS id names, or undefined when it names none (an extras topic)
 * or is no ALAS id.
 */
export function alasRelease(id: string): string | undefined {
  const m = /^ALAS(2023|2022|2)?-\d{4}-\d+$/.exec(id);
  return m === null ? undefined : (m[1] ?? '1');
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (name) => ['update', 'reference', 'collection', 'package'].includes(name),
  parseTagValue: false,
  parseAttributeValue: false,
});

type Attrs = Record<string, unknown>;
const text = (v: unknown): string | undefined =>
  typeof v === 'string'
    ? v
    : typeof (v as Attrs)?.['#text'] === 'string'
      ? ((v as Attrs)['#text'] as string)
      : undefined;
const list = (v: unknown): Attrs[] => (Array.isArray(v) ? (v as Attrs[]) : []);

/** `2023-02-17 20:41` (or with seconds, or ISO) as an RFC 3339 instant; undefined otherwise. */
function instant(value: unknown): string | undefined {
  const raw = typeof value === 'string' ? value.trim() : '';
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(?::(\d{2}))?/.exec(raw);
  if (m === null) return undefined;
  const date = new Date(`${m[1]}T${m[2]}:${m[3] ?? '00'}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The updateinfo's text, inflated when it is gzip'd. */
export function updateInfoText(content: Buffer): string {
  const gzip = content[0] === 0x1f && content[1] === 0x8b;
  const xml = gzip ? gunzipSync(content, { maxOutputLength: MAX_XML_BYTES }) : content;
  if (xml.length > MAX_XML_BYTES) throw new Error(`over ${MAX_XML_BYTES} bytes`);
  return xml.toString('utf8');
}

/** One update as an OSV record, or an issue naming what is wrong with it. */
function recordOf(
  update: Attrs,
  source: string,
  issues: ImportIssue[],
  repositoryRelease: string | undefined,
): OsvRecord | undefined {
  const id = text(update.id)?.trim() ?? '';
  const release = ALAS_ID.test(id) ? (repositoryRelease ?? alasRelease(id)) : undefined;
  if (release === undefined) {
    issues.push({
      source,
      message: `${source}: update ${JSON.stringify(id)} ${ALAS_ID.test(id) ? 'names no Amazon Linux release (an extras repository: sync it as alas:<release>)' : 'is not an ALAS id'}; skipped`,
    });
    return undefined;
  }
  const fixed = new Map<string, string>();
  for (const collection of list((update.pkglist as Attrs | undefined)?.collection))
    for (const p of list(collection.package)) {
      const name = typeof p.name === 'string' ? p.name : '';
      const version = typeof p.version === 'string' ? p.version : '';
      const rel = typeof p.release === 'string' ? p.release : '';
      if (name === '' || version === '' || rel === '') {
        issues.push({
          source,
          message: `${source}: ${id} lists a package without name, version or release; skipped`,
        });
        continue;
      }
      const epoch =
        typeof p.epoch === 'string' && p.epoch !== '' && p.epoch !== '0' ? `${p.epoch}:` : '';
      fixed.set(name, `${epoch}${version}-${rel}`);
    }
  const modified =
    instant((update.updated as Attrs | undefined)?.date) ??
    instant((update.issued as Attrs | undefined)?.date);
  if (fixed.size === 0 || modified === undefined) {
    issues.push({
      source,
      message: `${source}: ${id} has ${fixed.size === 0 ? 'no package' : 'no issued or updated date'}; skipped`,
    });
    return undefined;
  }
  const cves = list((update.references as Attrs | undefined)?.reference)
    .filter((r) => r.type === 'cve' && typeof r.id === 'string')
    .map((r) => r.id as string);
  const published = instant((update.issued as Attrs | undefined)?.date);
  const severity = text(update.severity)?.trim();
  const ecosystem = `Amazon Linux:${release}`;
  return {
    id,
    modified,
    ...(published === undefined ? {} : { published }),
    ...(text(update.title) === undefined ? {} : { summary: (text(update.title) as string).trim() }),
    ...(text(update.description) === undefined
      ? {}
      : { details: (text(update.description) as string).trim().slice(0, MAX_DETAILS_CHARS) }),
    ...(cves.length === 0 ? {} : { upstream: [...new Set(cves)].sort() }),
    affected: [...fixed].sort().map(([name, version]) => ({
      package: { ecosystem, name, purl: `pkg:rpm/amazon/${encodeURIComponent(name)}` },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: version }] }],
    })),
    ...(severity === undefined || severity === '' ? {} : { database_specific: { severity } }),
    references: [
      {
        type: 'ADVISORY',
        url: `https://alas.aws.amazon.com/${release === '1' ? '' : `AL${release}/`}${id}.html`,
      },
    ],
  } as OsvRecord;
}

/**
 * The security updates of one updateinfo file as OSV records. A file that is not well-formed
 * XML is one issue and no record; an update that cannot be read is an issue and the rest load.
 */
export function importUpdateInfo(
  content: Buffer,
  source: string,
  issues: ImportIssue[],
  release?: string,
): OsvRecord[] {
  let xml: string;
  try {
    xml = updateInfoText(content);
  } catch (error) {
    issues.push({
      source,
      message: `${source}: not gzip or too large: ${(error as Error).message}`,
    });
    return [];
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    issues.push({
      source,
      message: `${source}: not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`,
    });
    return [];
  }
  let doc: { updates?: { update?: Attrs[] } };
  try {
    doc = parser.parse(xml) as typeof doc;
  } catch (error) {
    // The validator above and the parser disagree on some broken files (an unclosed CDATA):
    // the parser's refusal is an issue on the file too.
    issues.push({ source, message: `${source}: not readable XML: ${(error as Error).message}` });
    return [];
  }
  if (doc.updates === undefined) {
    issues.push({ source, message: `${source}: no <updates> element; not an updateinfo file` });
    return [];
  }
  const records: OsvRecord[] = [];
  for (const update of doc.updates.update ?? []) {
    if (update.type !== 'security') continue;
    const record = recordOf(update, source, issues, release);
    if (record === undefined) continue;
    pushValid(records, record, source, issues);
  }
  return records;
}
