/**
 * Photon OS's CVE metadata (advisories/importers/photon.ts), source `photon`: the folder
 * https://packages.vmware.com/photon/photon_cve_metadata/ holds `photon_versions.json`
 * (`{"branches": ["1.0", …, "dev"]}`) and one `cve_data_photon<release>.json` per release, as
 * vuln-list-update and vunnel read them. A release that is no `major.minor` number (`dev`) has
 * no OSV ecosystem (`Photon OS:<release>`) and is left out, as vuln-list-update leaves it out.
 *
 * Each release file is asked for with a conditional GET (the ETag and Last-Modified of the last
 * completed sync, carried in the fingerprint): when every file answers 304 and the release list
 * is the same, the sync is `unchanged` without a download. When any moved, every file is read
 * (an id's record gathers all its releases), and each record is one entry. A file that cannot be
 * read at all fails the sync rather than drop its release's packages from every record it names.
 *
 * A record is dated by the newest Last-Modified of the files that name it, the first time its
 * content is seen, and keeps its stored date while nothing else in it changes (whole-file.ts,
 * `keepModified`).
 */
import { PhotonImporter } from '../../advisories/importers/photon.js';
import type { FeedCheckpoint } from '../../stores/advisory-store.js';
import { type HttpOptions, httpBytes } from '../http.js';
import { type FeedFetch, FeedFormatError, type FeedSource, type ParsedEntry } from '../types.js';
import {
  conditionalGet,
  type FileVersion,
  fileVersion,
  fingerprintOf,
  getFile,
  modifiedOf,
  parseRecordEntry,
  type RecordEntry,
  type RecordReader,
  recordFeed,
  versionsIn,
} from '../whole-file.js';

/** Where Photon publishes its CVE metadata. */
export const PHOTON_CVE_METADATA_URL = 'https://packages.vmware.com/photon/photon_cve_metadata/';

/** A release file is a few MB; far more is not one. The release list is a line. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const MAX_VERSIONS_BYTES = 1024 * 1024;
const RELEASE = /^\d+\.\d+$/;

export interface PhotonOptions {
  /** The advisory store the source is synced into (whole-file.ts, keepModified). */
  readonly store: RecordReader;
  /** The folder holding photon_versions.json (PHOTON_CVE_METADATA_URL by default). */
  readonly baseUrl?: string;
  readonly timeoutMs?: number;
  /** Largest release file accepted (64 MiB by default). */
  readonly maxBytes?: number;
}

/** One release file as read: its name and version, and its body once downloaded. */
interface ReleaseFile {
  readonly release: string;
  readonly name: string;
  readonly url: string;
  body?: Buffer;
  version?: FileVersion;
}

export class PhotonSource implements FeedSource {
  readonly id = 'photon';
  private readonly base: string;

  constructor(private readonly opts: PhotonOptions) {
    this.base = (opts.baseUrl ?? PHOTON_CVE_METADATA_URL).replace(/\/+$/, '');
  }

  private http(signal: AbortSignal | undefined, maxBytes: number): HttpOptions {
    return { maxBytes, timeoutMs: this.opts.timeoutMs, signal };
  }

  /** The releases photon_versions.json lists, in its order. */
  private async releases(signal?: AbortSignal): Promise<string[]> {
    const url = `${this.base}/photon_versions.json`;
    const body = await httpBytes(url, this.http(signal, MAX_VERSIONS_BYTES));
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new FeedFormatError(`${url}: not JSON: ${(error as Error).message}`, { cause: error });
    }
    const branches = (doc as { branches?: unknown } | null)?.branches;
    if (!Array.isArray(branches) || !branches.every((b) => typeof b === 'string'))
      throw new FeedFormatError(`${url}: no "branches" list of releases`);
    const releases = (branches as string[]).filter((b) => RELEASE.test(b));
    if (releases.length === 0)
      throw new FeedFormatError(`${url}: names no release (${JSON.stringify(branches)})`);
    return [...new Set(releases)];
  }

  /** What the last completed sync saw of each file, by name. */
  private static known(previous: FeedCheckpoint | undefined): Map<string, FileVersion> | undefined {
    // A resumed sync needs every file itself, whatever the last completed one saw.
    if (previous?.cursor !== undefined) return undefined;
    const files = versionsIn('photon', previous?.fingerprint);
    if (!Array.isArray(files)) return undefined;
    const out = new Map<string, FileVersion>();
    for (const f of files) {
      const version = fileVersion(f);
      const name = (f as { name?: unknown }).name;
      if (version !== undefined && typeof name === 'string') out.set(name, version);
    }
    return out;
  }

  async fetch(previous: FeedCheckpoint | undefined, signal?: AbortSignal): Promise<FeedFetch> {
    const files: ReleaseFile[] = (await this.releases(signal)).map((release) => {
      const name = `cve_data_photon${release}.json`;
      return { release, name, url: `${this.base}/${name}` };
    });
    const known = PhotonSource.known(previous);
    const http = this.http(signal, this.opts.maxBytes ?? MAX_FILE_BYTES);
    let moved = known === undefined || known.size !== files.length;
    for (const f of files) {
      const got = await conditionalGet(f.url, known?.get(f.name), http);
      if (got.kind === 'not-modified') continue;
      moved = true;
      f.body = got.body;
      f.version = got.version;
    }
    if (!moved) return { kind: 'unchanged', fingerprint: previous?.fingerprint as string };
    for (const f of files) {
      if (f.body !== undefined) continue;
      const got = await getFile(f.url, http);
      f.body = got.body;
      f.version = got.version;
    }
    const fingerprint = fingerprintOf(
      'photon',
      [...files]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((f) => ({ name: f.name, ...f.version })),
    );
    // A server without validators sends every file again: the same bytes are no change either.
    if (previous?.fingerprint === fingerprint && previous.cursor === undefined)
      return { kind: 'unchanged', fingerprint };
    const importer = new PhotonImporter();
    for (const f of files) {
      const text = (f.body as Buffer).toString('utf8');
      if (!importer.add(text, f.url, f.release, modifiedOf(f.version ?? {})))
        throw new FeedFormatError(importer.issues.at(-1)?.message ?? `${f.url}: unreadable`);
    }
    const records = importer.osv();
    return recordFeed(fingerprint, records, importer.issues);
  }

  parse(entry: RecordEntry): Promise<ParsedEntry> {
    return parseRecordEntry(entry, this.opts.store);
  }
}
