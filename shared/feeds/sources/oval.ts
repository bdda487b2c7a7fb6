/**
 * The publishers' OVAL files as feeds, one source per release:
 * - `azurelinux-oval:<1|2|3>`: Microsoft's Azure Linux (and CBL-Mariner, its former name) file
 *   in https://github.com/microsoft/AzureLinuxVulnerabilityData, regenerated several times a day;
 * - `oracle-oval:<7|8|9|10>`: Oracle's ELSA file of the release,
 *   https://linux.oracle.com/security/oval/ (bzip2).
 * SUSE's OVAL is not a source here: SUSE is synced from osv.dev; the importer reads SUSE's
 * per-product-line files given to `db sync --from`.
 *
 * A sync asks for the file conditionally (whole-file.ts): a 304, or a body whose sha256 is the
 * last one, is `unchanged`. Otherwise the file is read (importers/oval.ts) and each advisory
 * becomes one entry, so the sync writes only those whose content changed, batch by batch, with
 * its usual checkpoints.
 *
 * Microsoft dates a definition without advisory_date (unpatched, not applicable) by the file's
 * generator timestamp, and regenerates the file several times a day: such a record keeps the
 * date it is stored with while nothing else in it changes (`keepModified`), or every
 * regeneration would rewrite it and rescan the images with its packages.
 */
import type { ImportIssue } from '../../advisories/importers/decode.js';
import { OvalFileError, readOval } from '../../advisories/importers/oval.js';
import type { OsvRecord } from '../../advisories/osv.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import { type FeedFetch, FeedFormatError, type FeedSource, type ParsedEntry } from '../types.js';
import {
  fetchWholeFile,
  parseRecordEntry,
  type RecordEntry,
  type RecordReader,
  recordFeed,
} from '../whole-file.js';

const AZURE = 'https://raw.githubusercontent.com/microsoft/AzureLinuxVulnerabilityData/main';
const ORACLE = 'https://linux.oracle.com/security/oval';

/** Every OVAL feed Bosun reads, by source id, with the file it downloads. */
export const OVAL_FEEDS = {
  'azurelinux-oval:1': `${AZURE}/cbl-mariner-1.0-oval.xml`,
  'azurelinux-oval:2': `${AZURE}/cbl-mariner-2.0-oval.xml`,
  'azurelinux-oval:3': `${AZURE}/azurelinux-3.0-oval.xml`,
  'oracle-oval:7': `${ORACLE}/com.oracle.elsa-ol7.xml.bz2`,
  'oracle-oval:8': `${ORACLE}/com.oracle.elsa-ol8.xml.bz2`,
  'oracle-oval:9': `${ORACLE}/com.oracle.elsa-ol9.xml.bz2`,
  'oracle-oval:10': `${ORACLE}/com.oracle.elsa-ol10.xml.bz2`,
} as const;

export type OvalFeedId = keyof typeof OVAL_FEEDS;
export const OVAL_FEED_IDS = Object.keys(OVAL_FEEDS) as OvalFeedId[];

/** Microsoft's 2.0 file is tens of MB, Oracle's bzip2'd files a few: far more is refused. */
const MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024;

export interface OvalSourceOptions {
  /** The advisory store the source is synced into (whole-file.ts, keepModified). */
  readonly store: RecordReader;
  /** The file to download (OVAL_FEEDS[id] by default). */
  readonly url?: string;
  /** Time allowed for the download. @default 120 s */
  readonly timeoutMs?: number;
  /** The largest download accepted (256 MiB by default). */
  readonly maxBytes?: number;
  /** The largest inflated file accepted (importers/oval.ts MAX_OVAL_XML_BYTES by default). */
  readonly maxXmlBytes?: number;
}

export class OvalSource implements FeedSource {
  readonly url: string;
  /** Microsoft's release (`azurelinux-oval:3` → `3`): its file is for that release. */
  private readonly release: string;

  constructor(
    readonly id: string,
    private readonly opts: OvalSourceOptions,
  ) {
    if (!Object.hasOwn(OVAL_FEEDS, id))
      throw new FeedFormatError(
        `no OVAL feed ${JSON.stringify(id)}; known: ${OVAL_FEED_IDS.join(', ')}`,
      );
    this.url = opts.url ?? OVAL_FEEDS[id as OvalFeedId];
    this.release = id.slice(id.indexOf(':') + 1);
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    const got = await fetchWholeFile(this.url, 'oval', previous, {
      maxBytes: this.opts.maxBytes ?? MAX_DOWNLOAD_BYTES,
      timeoutMs: this.opts.timeoutMs ?? 120_000,
      signal,
    });
    if (got.kind === 'unchanged') return got;
    const issues: ImportIssue[] = [];
    let records: OsvRecord[];
    try {
      records = readOval(got.body, this.url, issues, {
        ...(this.id.startsWith('azurelinux-oval:') ? { release: this.release } : {}),
        ...(this.opts.maxXmlBytes === undefined ? {} : { maxXmlBytes: this.opts.maxXmlBytes }),
      });
    } catch (error) {
      if (!(error instanceof OvalFileError)) throw error;
      throw new FeedFormatError(error.message, { cause: error });
    }
    return recordFeed(got.fingerprint, records, issues);
  }

  parse(entry: RecordEntry): Promise<ParsedEntry> {
    return parseRecordEntry(entry, this.opts.store);
  }
}
