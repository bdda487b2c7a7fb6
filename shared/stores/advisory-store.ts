/**
 * The advisory store port: what feed syncs write and the matcher reads. Two adapters implement
 * it, DynamoDB (the cloud) and embedded (the CLI, one machine); one contract suite
 * (test/contract/advisory-store.ts) holds both to the same behaviour.
 */
import { createHash } from 'node:crypto';
import type { CveFact, CveFactKind } from '../advisories/cve-facts.js';
import type { RepositoryCpes } from '../advisories/importers/redhat-repository-to-cpe.js';
import type { OsvRecord } from '../advisories/osv.js';
import type { PackageChange } from '../events/rescan.js';
import type { RepositoryCpeLookup } from '../inventory/redhat-repositories.js';
import type { AdvisoryQuery, Candidate } from '../matcher/types.js';

/** `<ecosystem>#<package name>`, as docs/data-model.md names a package. */
export function packageKey(ecosystem: string, name: string): string {
  return `${ecosystem}#${name}`;
}

export function splitPackageKey(key: string): { ecosystem: string; name: string } {
  const at = key.indexOf('#');
  return { ecosystem: key.slice(0, at), name: key.slice(at + 1) };
}

/** The package keys an advisory names, sorted and without repeats. */
export function packageKeysOf(record: OsvRecord): string[] {
  const keys = new Set<string>();
  for (const a of record.affected ?? [])
    if (a.package !== undefined) keys.add(packageKey(a.package.ecosystem, a.package.name));
  return [...keys].sort();
}

/**
 * The ids an advisory is about besides its own: its aliases, the records it derives from
 * (`upstream`: ALAS, Ubuntu, Red Hat, Debian name their CVE there) and CVE ids among `related`
 * (AlmaLinux lists its CVEs there). A language record's related CVEs are other projects' bugs,
 * but indexing them only costs a rescan that finds nothing new.
 */
export function aliasesOf(record: OsvRecord): string[] {
  const cves = (record.related ?? []).filter((id) => /^CVE-\d{4}-\d+$/.test(id));
  return [...new Set([...(record.aliases ?? []), ...(record.upstream ?? []), ...cves])].sort();
}

/** JSON with object keys sorted, so equal records always hash alike. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Content hash of a normalized record: a sync rewrites a record only when this changes. */
export function contentHash(record: OsvRecord): string {
  return createHash('sha256').update(canonical(record)).digest('hex');
}

/** The affected entries of `record` for one package, as matcher candidates. */
export function candidatesOf(record: OsvRecord, ecosystem: string, name: string): Candidate[] {
  const out: Candidate[] = [];
  for (const affected of record.affected ?? [])
    if (affected.package?.ecosystem === ecosystem && affected.package.name === name)
      out.push({ record, affected });
  return out;
}

export interface StoredAdvisory {
  readonly id: string;
  readonly hash: string;
  /** The feed source that wrote it. */
  readonly source: string;
  readonly record: OsvRecord;
}

/** What a sync needs to know of a stored advisory to decide whether, and how, it changed. */
export interface AdvisoryHead {
  readonly hash: string;
  readonly packageKeys: readonly string[];
  readonly withdrawn: boolean;
  /** The ids it is indexed under (aliasesOf when it was written). */
  readonly aliases: readonly string[];
}

/** Where a feed source stands. Written after every batch of a sync. */
export interface FeedCheckpoint {
  readonly source: string;
  /** Fingerprint of the feed content the last completed sync read. */
  readonly fingerprint?: string;
  /** Highest `modified` a completed sync has seen (incremental sources resume after it). */
  readonly watermark?: string;
  readonly completedAt?: string;
  readonly records?: number;
  /** An unfinished sync: the feed it was reading and how many entries it had finished. */
  readonly cursor?: {
    readonly fingerprint: string;
    readonly position: number;
    readonly watermark?: string;
  };
  /**
   * Every record this source completed has its ecosystem recorded (`hasEcosystem`). A checkpoint
   * from before that was recorded makes the next sync read the source whole once.
   */
  readonly ecosystemsMarked?: boolean;
  /**
   * Every record this source completed is indexed under aliasesOf (upstream and related CVEs
   * too, since CVE feeds re-rate through them). A checkpoint from before makes the next sync read
   * the source whole once, rewriting the records indexed otherwise.
   */
  readonly aliasesIndexed?: boolean;
  /** Changes of the batch at `cursor` that were being written when the sync stopped. */
  readonly pending?: readonly PackageChange[];
  /** The last problems the sync recorded (invalid records), newest last. */
  readonly issues?: readonly string[];
}

export interface AdvisoryStoreStats {
  readonly advisories: number;
  readonly withdrawn: number;
  readonly sources: readonly FeedCheckpoint[];
}

/** What replacing the repository-to-CPE mapping wrote: only the repositories that changed. */
export interface RepositoryCpesWrite {
  /** Repositories added, or whose CPEs changed. */
  readonly put: number;
  /** Repositories the new mapping no longer names. */
  readonly deleted: number;
}

/**
 * The repositories of a new mapping whose CPEs (sorted, without repeats) differ from the stored
 * ones, and the stored repositories it drops.
 */
export function repositoryCpesDiff(
  stored: ReadonlyMap<string, readonly string[]>,
  next: RepositoryCpes,
): { put: [string, readonly string[]][]; deleted: string[] } {
  const same = (a: readonly string[], b: readonly string[] | undefined) =>
    b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
  return {
    put: [...next]
      .map(([id, cpes]): [string, string[]] => [id, [...new Set(cpes)].sort()])
      .filter(([id, cpes]) => !same(cpes, stored.get(id))),
    deleted: [...stored.keys()].filter((id) => !next.has(id)),
  };
}

export interface AdvisoryStore extends AdvisoryQuery, RepositoryCpeLookup {
  /** Heads of the given ids that are stored. */
  heads(ids: readonly string[]): Promise<Map<string, AdvisoryHead>>;
  /**
   * Writes (inserts or replaces) the advisories. After it resolves each one is fully visible,
   * its package entries included, and package entries it no longer names are gone. If it
   * fails, an advisory either keeps its previous head (so the next sync rewrites it) or is
   * fully written.
   */
  put(advisories: readonly StoredAdvisory[]): Promise<void>;
  get(id: string): Promise<StoredAdvisory | undefined>;
  /**
   * Ids of the advisories about `alias`: those listing it among their aliases, as the record
   * it derives from (`upstream`), or as a CVE id among `related` (aliasesOf). This is how a
   * change of what a CVE feed says reaches the packages of every advisory of that CVE.
   */
  idsByAlias(alias: string): Promise<string[]>;
  /** Every stored advisory (for export), in no particular order. */
  all(): AsyncIterable<StoredAdvisory>;
  /**
   * Records that advisories of these ecosystems are stored (a sync read them unchanged): what
   * `hasEcosystem` answers from where it is not derived from the stored entries themselves.
   */
  markEcosystems(ecosystems: readonly string[]): Promise<void>;
  /**
   * Replaces Red Hat's repository-to-CPE mapping, writing only the repositories that changed.
   * Lookups never see a repository of both mappings without CPEs: changed and added ones are
   * written first, dropped ones deleted last, so a write that stops half-way leaves each
   * repository with its old or its new CPEs (the next sync finishes it).
   */
  putRepositoryCpes(mapping: RepositoryCpes): Promise<RepositoryCpesWrite>;
  /** The stored hashes (`cveFactHash`) of these facts, by `cveFactKey`, for those stored. */
  cveFactHashes(keys: readonly { kind: CveFactKind; cve: string }[]): Promise<Map<string, string>>;
  /** Writes the facts, each replacing the stored fact of its kind and CVE. */
  putCveFacts(facts: readonly CveFact[]): Promise<void>;
  checkpoint(source: string): Promise<FeedCheckpoint | undefined>;
  saveCheckpoint(checkpoint: FeedCheckpoint): Promise<void>;
  /** Takes the source's sync lease unless another holder has an unexpired one. */
  acquireLease(source: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(source: string, holder: string): Promise<void>;
  stats(): Promise<AdvisoryStoreStats>;
  close(): Promise<void>;
}
