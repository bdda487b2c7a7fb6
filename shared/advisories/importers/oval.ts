/**
 * OVAL definitions files of the distributions that publish their advisories as OVAL (OVAL 5,
 * https://oval.mitre.org/language/version5.11/): Microsoft's for Azure Linux and CBL-Mariner,
 * Oracle's ELSA, SUSE's CVE files. The publisher is recognised by its definition ids'
 * namespace; oval-document.ts reads what all have in common, oval-microsoft.ts,
 * oval-oracle.ts and oval-suse.ts what each means (ids, ecosystems, severities).
 *
 * Files come plain, gzip'd (SUSE) or bzip2'd (Oracle's `.xml.bz2`), and are bounded when
 * inflated. A file that cannot be read at all is one issue and no record; a definition that
 * cannot be read is an issue and the others load.
 */
import { constants as bufferConstants } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import { XMLValidator } from 'fast-xml-parser';
import Bunzip from 'seek-bzip';
import type { OsvRecord } from '../osv.js';
import { isUpdateInfoName } from './alas.js';
import { type ImportIssue, pushValid, UnreadableFeedFileError } from './decode.js';
import { instant, NotOvalError, type OvalContext, readDocument } from './oval-document.js';
import { MICROSOFT_NAMESPACES, microsoftRecords } from './oval-microsoft.js';
import { ORACLE_NAMESPACE, oracleRecords } from './oval-oracle.js';
import { SUSE_NAMESPACE, suseRecords } from './oval-suse.js';

/**
 * Inflated size refused: far beyond a release's file (Oracle's OL8 file, Microsoft's 2.0 file
 * are tens of MB), and below the longest string V8 holds (the XML is read as one string).
 */
export const MAX_OVAL_XML_BYTES = Math.min(500 * 1024 * 1024, bufferConstants.MAX_STRING_LENGTH);
/** Definitions refused past this many (a release's file has thousands). */
export const MAX_OVAL_DEFINITIONS = 200_000;
/** Alternatives one definition's criteria may expand to (SUSE kernel CVEs reach hundreds). */
export const MAX_CRITERIA_CLAUSES = 20_000;

export interface OvalImportOptions {
  /** The inflated size refused (MAX_OVAL_XML_BYTES by default). */
  readonly maxXmlBytes?: number;
  /** The number of definitions refused (MAX_OVAL_DEFINITIONS by default). */
  readonly maxDefinitions?: number;
  /** The alternatives a definition's criteria may expand to (MAX_CRITERIA_CLAUSES by default). */
  readonly maxClauses?: number;
  /**
   * The release a Microsoft file is for (a feed source knows it); by default its file name
   * says (`azurelinux-3.0-oval.xml`). Oracle's and SUSE's definitions name their releases.
   */
  readonly release?: string;
}

/** The whole file cannot be read as OVAL (not gzip/bzip2, too large, not XML, no publisher). */
export class OvalFileError extends UnreadableFeedFileError {}

/**
 * Whether a file name is an OVAL file the importer reads: Microsoft's `*-oval.xml`, Oracle's
 * `com.oracle.elsa-*.xml(.bz2)` and `ELSA-*.xml`, SUSE's `suse.*.xml(.gz)`, and any compressed
 * XML (`*.xml.bz2`, `*.xml.gz`) but yum's updateinfo (alas.ts reads that).
 */
export function isOvalName(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  if (isUpdateInfoName(base)) return false;
  return (
    /oval[^/]*\.xml$/i.test(base) ||
    /\.xml\.(bz2|gz)$/.test(base) ||
    /^ELSA-\d{4}-\d+\.xml$/.test(base) ||
    /^com\.oracle\.elsa-[^/]*\.xml$/.test(base) ||
    /^(open)?suse\.[^/]*\.xml$/.test(base)
  );
}

/** Collects inflated bytes, refusing past `max` as they arrive. */
class BoundedSink {
  private readonly chunks: Buffer[] = [];
  private chunk = Buffer.allocUnsafe(1 << 20);
  private pos = 0;
  private total = 0;
  constructor(private readonly max: number) {}

  writeByte(byte: number): void {
    if (++this.total > this.max) throw new RangeError(`inflates past ${this.max} bytes`);
    if (this.pos === this.chunk.length) {
      this.chunks.push(this.chunk);
      this.chunk = Buffer.allocUnsafe(1 << 20);
      this.pos = 0;
    }
    this.chunk[this.pos++] = byte;
  }

  buffer(): Buffer {
    return Buffer.concat([...this.chunks, this.chunk.subarray(0, this.pos)]);
  }
}

/** The file's XML text: inflated when gzip'd or bzip2'd, refused past `max` bytes. */
export function ovalText(content: Buffer, source: string, max = MAX_OVAL_XML_BYTES): string {
  let xml: Buffer;
  if (content[0] === 0x1f && content[1] === 0x8b) {
    try {
      xml = gunzipSync(content, { maxOutputLength: max });
    } catch (error) {
      throw new OvalFileError(
        source,
        `not gzip or over ${max} bytes inflated: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  } else if (content.subarray(0, 3).toString('latin1') === 'BZh') {
    const sink = new BoundedSink(max);
    // seek-bzip allocates with the deprecated `new Buffer(size)` (sizes only, so as safe as
    // Buffer.alloc). Node names no culprit once it is bundled into our CLI or function, it
    // warns as if the code were ours, and the user can do nothing about it: deprecation
    // warnings are off for this synchronous call only.
    const quiet = process.noDeprecation;
    process.noDeprecation = true;
    try {
      Bunzip.decode(content, sink, true);
    } catch (error) {
      throw new OvalFileError(
        source,
        `not bzip2 or over ${max} bytes inflated: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    } finally {
      process.noDeprecation = quiet;
    }
    xml = sink.buffer();
  } else xml = content;
  if (xml.length > max) throw new OvalFileError(source, `${xml.length} bytes, over ${max}`);
  return xml.toString('utf8');
}

const PUBLISHERS = [
  { namespaces: MICROSOFT_NAMESPACES, records: microsoftRecords },
  { namespaces: [ORACLE_NAMESPACE], records: oracleRecords },
  { namespaces: [SUSE_NAMESPACE], records: suseRecords },
] as const;

/**
 * The OVAL file's advisories as OSV records, issues pushed for what cannot be read; throws
 * OvalFileError when the file cannot be read at all (the feed source then keeps what it has).
 */
export function readOval(
  content: Buffer,
  source: string,
  issues: ImportIssue[],
  opts: OvalImportOptions = {},
): OsvRecord[] {
  const xml = ovalText(content, source, opts.maxXmlBytes);
  const valid = XMLValidator.validate(xml);
  if (valid !== true)
    throw new OvalFileError(
      source,
      `not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`,
    );
  let doc: ReturnType<typeof readDocument>;
  try {
    doc = readDocument(xml, opts.maxDefinitions ?? MAX_OVAL_DEFINITIONS);
  } catch (error) {
    if (!(error instanceof NotOvalError)) throw error;
    throw new OvalFileError(source, error.message, { cause: error });
  }
  const first = doc.definitions[0]?.id ?? '';
  const publisher = PUBLISHERS.find((p) => p.namespaces.some((n) => first.startsWith(n)));
  if (publisher === undefined)
    throw new OvalFileError(
      source,
      doc.definitions.length === 0
        ? 'holds no definition'
        : `definition ${JSON.stringify(first)} is not Microsoft's, Oracle's or SUSE's OVAL (${PUBLISHERS.flatMap((p) => p.namespaces).join(', ')})`,
    );
  const ours = doc.definitions.filter((d) => publisher.namespaces.some((n) => d.id.startsWith(n)));
  const push = (message: string) => issues.push({ source, message: `${source}: ${message}` });
  if (ours.length < doc.definitions.length)
    push(
      `${doc.definitions.length - ours.length} definitions of another publisher than ${JSON.stringify(first)}'s are left out`,
    );
  for (const oddity of doc.oddities) push(oddity);
  const timestamp = instant(doc.timestamp);
  const ctx: OvalContext = {
    source,
    doc: { ...doc, definitions: ours },
    ...(timestamp === undefined ? {} : { timestamp }),
    maxClauses: opts.maxClauses ?? MAX_CRITERIA_CLAUSES,
    ...(opts.release === undefined ? {} : { release: opts.release }),
    issue: (advisory, message) => push(`${advisory}: ${message}`),
    fileIssue: push,
  };
  const records: OsvRecord[] = [];
  const seen = new Set<string>();
  for (const record of publisher.records(ctx)) {
    // OVAL ids are unique in a document; a file that repeats one keeps its first.
    if (seen.has(record.id)) {
      ctx.issue(record.id, 'is in the file more than once; the first is kept');
      continue;
    }
    seen.add(record.id);
    pushValid(records, record, source, issues, `${source}#${record.id}`);
  }
  return records;
}

/**
 * The OVAL file's advisories as OSV records. A file that cannot be read at all is one issue and
 * no record; a definition that cannot be read is an issue and the others load.
 */
export function importOval(
  content: Buffer,
  source: string,
  issues: ImportIssue[],
  opts: OvalImportOptions = {},
): OsvRecord[] {
  try {
    return readOval(content, source, issues, opts);
  } catch (error) {
    if (!(error instanceof OvalFileError)) throw error;
    issues.push({ source, message: error.message });
    return [];
  }
}
