/**
 * The feed sources Bosun knows, chosen explicitly: OSV's per-ecosystem export (the default in
 * the cloud), a local directory or zip of advisories, and a Bosun export file.
 */
import { statSync } from 'node:fs';
import { ExportFileSource } from './export.js';
import { AlasSource } from './sources/alas.js';
import { LocalFeedSource } from './sources/local.js';
import { type OsvBucketOptions, OsvBucketSource } from './sources/osv-bucket.js';
import { FeedFormatError, type FeedSource } from './types.js';

/** One ALAS source per Amazon Linux release. */
export function alasSources(
  releases: readonly string[],
  opts: { timeoutMs?: number } = {},
): AlasSource[] {
  return releases.map((r) => new AlasSource(r, opts));
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
export function sourceFor(location: string, opts: OsvBucketOptions = {}): FeedSource {
  // `alas:2023`: Amazon Linux's repository for that release, through its mirror list.
  const alas = /^alas:([0-9.]+)$/.exec(location);
  if (alas !== null)
    return new AlasSource(
      alas[1] as string,
      opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs },
    );
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
