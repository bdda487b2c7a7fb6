/**
 * Amazon Linux's advisories as its repositories publish them, one source per release
 * repository (`alas:2`, `alas:2023`): the mirror list names the repository, whose
 * `repodata/repomd.xml` names `updateinfo.xml.gz` with its checksum (the createrepo layout,
 * https://docs.aws.amazon.com/linux/al2023/ug/managing-repos-os-updates.html). A sync whose
 * updateinfo checksum has not moved is `unchanged` without downloading it; otherwise the file is
 * downloaded, checked against that checksum, and its updates become one entry each, so the sync
 * writes only the advisories whose content changed, batch by batch, with its usual checkpoints.
 */
import { createHash } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { importUpdateInfo } from '../../advisories/importers/alas.js';
import type { ImportIssue } from '../../advisories/importers/decode.js';
import type { VendorSourceId } from '../../ecosystems.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import { httpBytes, httpLines } from '../http.js';
import { type FeedFetch, FeedFormatError, type FeedSource, type ParsedEntry } from '../types.js';
import { parseRecordEntry, type RecordEntry, recordFeed } from '../whole-file.js';

/** The mirror lists of the core repositories, as `dnf`/`yum` read them (x86_64). */
export const ALAS_MIRROR_LISTS = {
  '2': 'https://cdn.amazonlinux.com/2/core/latest/x86_64/mirror.list',
  '2023': 'https://cdn.amazonlinux.com/al2023/core/mirrors/latest/x86_64/mirror.list',
} as const satisfies Record<
  VendorSourceId extends `alas:${infer Release}` ? Release : never,
  string
>;

export interface AlasOptions {
  /** The mirror list to read (ALAS_MIRROR_LISTS by default). */
  readonly mirrorListUrl?: string;
  readonly timeoutMs?: number;
}

const CHECKSUMS = new Set(['sha256', 'sha512', 'sha1']);
/** AL2 core's gzip'd updateinfo is a few MB; far more is not an updateinfo. */
const MAX_UPDATEINFO_BYTES = 64 * 1024 * 1024;
// Values stay text: a checksum of digits only must not become a number.
const repomdParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (name) => name === 'data',
  parseTagValue: false,
  parseAttributeValue: false,
});

/** Where repomd.xml says the updateinfo is, and its checksum. */
function updateInfoOf(xml: string, url: string): { href: string; type: string; sum: string } {
  if (XMLValidator.validate(xml) !== true) throw new FeedFormatError(`${url}: not well-formed XML`);
  const doc = repomdParser.parse(xml) as {
    repomd?: { data?: { type?: string; checksum?: unknown; location?: { href?: unknown } }[] };
  };
  const data = doc.repomd?.data?.find((d) => d.type === 'updateinfo');
  const checksum = data?.checksum as { type?: unknown; '#text'?: unknown } | undefined;
  const href = data?.location?.href;
  const type = checksum?.type;
  const sum = checksum?.['#text'];
  if (
    typeof href !== 'string' ||
    typeof type !== 'string' ||
    typeof sum !== 'string' ||
    !CHECKSUMS.has(type) ||
    href.includes('..')
  )
    throw new FeedFormatError(
      `${url}: no updateinfo data with a location and a ${[...CHECKSUMS].join('/')} checksum`,
    );
  return { href, type, sum: sum.trim().toLowerCase() };
}

export class AlasSource implements FeedSource {
  readonly id: string;
  private readonly mirrorList: string;

  constructor(
    readonly release: string,
    private readonly opts: AlasOptions = {},
  ) {
    this.id = `alas:${release}`;
    const list =
      opts.mirrorListUrl ??
      (Object.hasOwn(ALAS_MIRROR_LISTS, release)
        ? ALAS_MIRROR_LISTS[release as keyof typeof ALAS_MIRROR_LISTS]
        : undefined);
    if (list === undefined)
      throw new FeedFormatError(
        `no Amazon Linux mirror list for release ${JSON.stringify(release)}; known: ${Object.keys(ALAS_MIRROR_LISTS).join(', ')}`,
      );
    this.mirrorList = list;
  }

  /** The repository the mirror list names first. */
  private async repository(signal?: AbortSignal): Promise<string> {
    for await (const line of httpLines(this.mirrorList, this.http(signal))) {
      const url = line.trim();
      if (/^https?:\/\//.test(url)) return url.replace(/\/+$/, '');
    }
    throw new FeedFormatError(`${this.mirrorList}: names no repository URL`);
  }

  private http(signal?: AbortSignal) {
    return {
      ...(this.opts.timeoutMs === undefined ? {} : { timeoutMs: this.opts.timeoutMs }),
      ...(signal === undefined ? {} : { signal }),
    };
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    const base = await this.repository(signal);
    const repomdUrl = `${base}/repodata/repomd.xml`;
    const info = updateInfoOf(
      (await httpBytes(repomdUrl, { ...this.http(signal), maxBytes: 1024 * 1024 })).toString(
        'utf8',
      ),
      repomdUrl,
    );
    // `by-id`: the entries' order (recordFeed sorts them by id) is part of what a resumed
    // sync's cursor counts in, so a checkpoint of another order is never resumed.
    const fingerprint = `updateinfo-by-id:${info.type}:${info.sum}`;
    if (previous?.fingerprint === fingerprint && previous.cursor === undefined)
      return { kind: 'unchanged', fingerprint };
    const url = `${base}/${info.href.replace(/^\/+/, '')}`;
    const body = await httpBytes(url, { ...this.http(signal), maxBytes: MAX_UPDATEINFO_BYTES });
    const got = createHash(info.type).update(body).digest('hex');
    if (got !== info.sum)
      throw new FeedFormatError(
        `${url}: ${info.type} ${got} is not the ${info.sum} that repomd.xml names`,
      );
    const issues: ImportIssue[] = [];
    const records = importUpdateInfo(body, url, issues, this.release);
    return recordFeed(fingerprint, records, issues);
  }

  // Each advisory carries its own dates: no stored date to keep.
  parse(entry: RecordEntry): Promise<ParsedEntry> {
    return parseRecordEntry(entry);
  }
}
