/**
 * The feed sources Bosun knows, chosen explicitly: OSV's per-ecosystem export (the default in
 * the cloud), the publishers' own feeds (VENDOR_SOURCES: ALAS, Red Hat's CSAF VEX and
 * repository-to-CPE mapping, Microsoft's and Oracle's OVAL, Photon's CVE metadata, the Wolfi and
 * Chainguard secdb), a local directory or zip of advisories, and a Bosun export file.
 */
import { statSync } from 'node:fs';
import { VENDOR_SOURCES } from '../ecosystems.js';
import { ExportFileSource } from './export.js';
import { AlasSource } from './sources/alas.js';
import { DebianTrackerSource } from './sources/debian-tracker.js';
import { EpssSource } from './sources/epss.js';
import { KevSource } from './sources/kev.js';
import { LocalFeedSource } from './sources/local.js';
import { NvdSource } from './sources/nvd.js';
import { type OsvBucketOptions, OsvBucketSource } from './sources/osv-bucket.js';
import { OvalSource } from './sources/oval.js';
import { PhotonSource } from './sources/photon.js';
import { RedHatRepositoryToCpeSource } from './sources/redhat-repository-to-cpe.js';
import { RedHatVexSource } from './sources/redhat-vex.js';
import { SecdbSource } from './sources/secdb.js';
import { FeedFormatError, type FeedSource } from './types.js';
import type { RecordReader } from './whole-file.js';

/**
 * The feed source of a publisher's feed (an id of VENDOR_SOURCES: `alas:2023`, `redhat-vex`,
 * `oracle-oval:9`, `secdb:wolfi`, …); a FeedFormatError naming the known ids for any other.
 */
export interface VendorSourceOptions {
  /** NVD's API key: ten times NVD's request rate (https://nvd.nist.gov/developers/request-an-api-key). */
  readonly nvdApiKey?: string;
  /** Where NVD's retries and throttling are told (the function's structured logger). */
  readonly log?: (message: string, fields: Readonly<Record<string, unknown>>) => void;
  /**
   * The store the source syncs into: sources of files that date no record (secdb, Photon) keep
   * a record's stored date while its content does not change (whole-file.ts, keepModified).
   */
  readonly store: RecordReader;
  readonly timeoutMs?: number;
}

export function vendorSource(id: string, opts: VendorSourceOptions): FeedSource {
  if (!(VENDOR_SOURCES as readonly string[]).includes(id))
    throw new FeedFormatError(
      `${JSON.stringify(id)} is no publisher's feed Bosun reads; known: ${VENDOR_SOURCES.join(', ')}`,
    );
  const [kind, release = ''] = id.split(':') as [string, string?];
  const http = opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs };
  switch (kind) {
    case 'alas':
      return new AlasSource(release, http);
    case 'redhat-vex':
      return new RedHatVexSource(http);
    case 'redhat-repository-to-cpe':
      return new RedHatRepositoryToCpeSource(http);
    case 'azurelinux-oval':
    case 'oracle-oval':
      return new OvalSource(id, { ...http, store: opts.store });
    case 'nvd':
      return new NvdSource({
        ...http,
        ...(opts.nvdApiKey === undefined ? {} : { apiKey: opts.nvdApiKey }),
        ...(opts.log === undefined ? {} : { log: opts.log }),
      });
    case 'kev':
      return new KevSource(http);
    case 'epss':
      return new EpssSource(http);
    case 'debian-tracker':
      return new DebianTrackerSource(http);
    case 'photon':
      return new PhotonSource({ ...http, store: opts.store });
    case 'secdb':
      return new SecdbSource(release as 'wolfi' | 'chainguard', { ...http, store: opts.store });
  }
  // VENDOR_SOURCES lists no other kind (test/unit/feeds/registry.test.ts makes each one).
  throw new FeedFormatError(`${id}: no feed source for this kind`);
}

export function vendorSources(ids: readonly string[], opts: VendorSourceOptions): FeedSource[] {
  return ids.map((id) => vendorSource(id, opts));
}

export function osvSources(
  ecosystems: readonly string[],
  opts: OsvBucketOptions = {},
): OsvBucketSource[] {
  return ecosystems.map((e) => new OsvBucketSource(e, opts));
}

/**
 * A source for `--from`: `alas:<release>` (Amazon Linux's repository), an
 * `http(s)://…/<ecosystem>` folder in OSV's layout, a `.bosun.gz` export, a `.zip` of OSV
 * records, or a directory of advisory files.
 */
export function sourceFor(
  location: string,
  opts: OsvBucketOptions & VendorSourceOptions,
): FeedSource {
  // `alas:2023`, `redhat-vex`, …: a publisher's feed by name.
  if ((VENDOR_SOURCES as readonly string[]).includes(location))
    return vendorSource(location, {
      store: opts.store,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
      ...(opts.nvdApiKey === undefined ? {} : { nvdApiKey: opts.nvdApiKey }),
    });
  if (/^https?:\/\//.test(location)) {
    const url = new URL(location);
    const parts = url.pathname.split('/').filter((p) => p !== '');
    const ecosystem = parts.pop();
    if (ecosystem === undefined)
      throw new FeedFormatError(`${location}: name the ecosystem folder, e.g. <base>/PyPI`);
    url.pathname = parts.join('/');
    return new OsvBucketSource(decodeURIComponent(ecosystem), {
      ...opts,
      baseUrl: url.toString().replace(/\/+$/, ''),
    });
  }
  const st = statSync(location, { throwIfNoEntry: false });
  if (st === undefined) throw new FeedFormatError(`${location}: no such file or directory`);
  if (st.isFile() && location.endsWith('.bosun.gz')) return new ExportFileSource(location);
  return new LocalFeedSource(location);
}
