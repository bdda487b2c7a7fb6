/**
 * The embedded advisory store: a sorted store (sorted-store.ts) in a folder the user chooses.
 * Opening it reads no advisory: the indexes by package and by alias are keys of the store
 * itself, and the counts `db status` shows are kept as they change, so a scan reads only the
 * advisories of the packages it asks about, whatever the size of the database.
 *
 * Keys:
 *   r/<id>                   the OSV record
 *   h/<id>                   its head (hash, source, package keys, aliases, withdrawn)
 *   p/<package key>\0<id>    index by package (the package key JSON-quoted: no raw NUL); not the
 *                            record itself: advisories of a kernel name dozens of packages, and
 *                            a copy under each made a 1.5 GB database more than 12 GB
 *   a/<alias>\0<id>          index by alias (JSON-quoted too)
 *   e/<ecosystem>            how many advisories name a package of the ecosystem
 *   meta/stats, meta/format  counts; the key layout's version
 *   cp/, fact/, repo/, lease/  checkpoints, CVE facts, Red Hat's repository mapping, leases
 */
import {
  CVE_FACT_KINDS,
  type CveFact,
  type CveFactKind,
  type CveFacts,
  cveFactHash,
  cveFactKey,
} from '../../advisories/cve-facts.js';
import type { RepositoryCpes } from '../../advisories/importers/redhat-repository-to-cpe.js';
import type { OsvRecord } from '../../advisories/osv.js';
import type { Candidate } from '../../matcher/types.js';
import {
  type AdvisoryHead,
  type AdvisoryStore,
  type AdvisoryStoreStats,
  aliasesOf,
  candidatesOf,
  type FeedCheckpoint,
  packageKey,
  packageKeysOf,
  type RepositoryCpesWrite,
  repositoryCpesDiff,
  type StoredAdvisory,
  splitPackageKey,
} from '../advisory-store.js';
import { type LogChange, StoreLockedError } from './log-file.js';
import { SortedStore, type SortedStoreOptions } from './sorted-store.js';

interface Head extends AdvisoryHead {
  readonly source: string;
  readonly aliases: readonly string[];
}

/** A CVE fact as logged: its hash (what a change is) and what it says. */
interface StoredFact {
  readonly hash: string;
  readonly facts: unknown;
}

interface Lease {
  readonly holder: string;
  readonly expiresAt: number;
}

interface Stats {
  readonly advisories: number;
  readonly withdrawn: number;
}

/** The key layout this code writes; a store without it is indexed again when opened. */
const FORMAT = 2;

const packageIndexKey = (pkg: string, id: string) => `p/${JSON.stringify(pkg)}\u0000${id}`;
const aliasIndexKey = (alias: string, id: string) => `a/${JSON.stringify(alias)}\u0000${id}`;
const idOfIndexKey = (key: string) => key.slice(key.indexOf('\u0000') + 1);
const ecosystemKey = (ecosystem: string) => `e/${ecosystem}`;

/** The ecosystems a head's package keys name, without repeats. */
function ecosystemsOf(head: AdvisoryHead): string[] {
  return [...new Set(head.packageKeys.map((k) => splitPackageKey(k).ecosystem))];
}

export class EmbeddedAdvisoryStore implements AdvisoryStore {
  private readonly records = new Map<string, OsvRecord>();
  // Candidates per package key, built on first query; any write clears it.
  private readonly cache = new Map<string, readonly Candidate[]>();

  private constructor(private readonly store: SortedStore) {}

  /**
   * Opens the store in `dir` (created if missing); `read` mode takes no lock and cannot write.
   * A store written before the indexes were stored is indexed once, by whichever opens it
   * first (a reader takes the lock for that, briefly).
   */
  static open(
    dir: string,
    mode: 'read' | 'write' = 'write',
    options: SortedStoreOptions = {},
  ): EmbeddedAdvisoryStore {
    if (mode === 'read') {
      const reader = SortedStore.open(dir, 'advisories', 'read', options);
      if (!EmbeddedAdvisoryStore.needsIndexing(reader)) return new EmbeddedAdvisoryStore(reader);
      reader.close();
      try {
        EmbeddedAdvisoryStore.open(dir, 'write', options).store.close();
      } catch (error) {
        if (!(error instanceof StoreLockedError)) throw error;
        // The writer holding it indexes it as it opens; its result is what we read next.
      }
      return new EmbeddedAdvisoryStore(SortedStore.open(dir, 'advisories', 'read', options));
    }
    const store = SortedStore.open(dir, 'advisories', 'write', options);
    try {
      // The folder's lock already admits one writer: leases left by a writer that was killed
      // (Ctrl-C during `bosun db sync`) would only block the next sync until they expire.
      const leases = store.keys('lease/');
      if (leases.length > 0) store.commit(leases.map((k) => [k] as const));
      if (EmbeddedAdvisoryStore.needsIndexing(store)) EmbeddedAdvisoryStore.index(store);
    } catch (error) {
      store.close();
      throw error;
    }
    return new EmbeddedAdvisoryStore(store);
  }

  private static needsIndexing(store: SortedStore): boolean {
    return store.get<number>('meta/format') !== FORMAT && store.some('h/');
  }

  /** Writes the package and alias indexes, ecosystem counts and stats from the stored heads. */
  private static index(store: SortedStore): void {
    const ecosystems = new Map<string, number>();
    let advisories = 0;
    let withdrawn = 0;
    let batch: LogChange[] = [];
    for (const [key, raw] of store.scan('h/')) {
      const id = key.slice(2);
      const head = JSON.parse(raw) as Head;
      advisories++;
      if (head.withdrawn) withdrawn++;
      for (const pkg of head.packageKeys) batch.push([packageIndexKey(pkg, id), 1]);
      for (const alias of head.aliases) batch.push([aliasIndexKey(alias, id), 1]);
      for (const e of ecosystemsOf(head)) ecosystems.set(e, (ecosystems.get(e) ?? 0) + 1);
      if (batch.length >= 10_000) {
        store.commit(batch);
        batch = [];
      }
    }
    batch.push(
      ...[...ecosystems].map(([e, n]): LogChange => [ecosystemKey(e), n]),
      ['meta/stats', { advisories, withdrawn } satisfies Stats],
      // Last, in the same batch as the counts: an indexing that stopped half-way runs again.
      ['meta/format', FORMAT],
    );
    store.commit(batch);
  }

  private record(id: string): OsvRecord | undefined {
    let record = this.records.get(id);
    if (record === undefined) {
      record = this.store.get<OsvRecord>(`r/${id}`);
      if (record !== undefined) this.records.set(id, record);
    }
    return record;
  }

  async candidates(ecosystem: string, name: string): Promise<readonly Candidate[]> {
    const key = packageKey(ecosystem, name);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const out: Candidate[] = [];
    for (const indexKey of this.store.keys(packageIndexKey(key, ''))) {
      const record = this.record(idOfIndexKey(indexKey));
      if (record !== undefined) out.push(...candidatesOf(record, ecosystem, name));
    }
    this.cache.set(key, out);
    return out;
  }

  /** Nothing to record: the answer comes from the stored package entries themselves. */
  async markEcosystems(_ecosystems: readonly string[]): Promise<void> {}

  async hasEcosystem(ecosystem: string): Promise<boolean> {
    return (this.store.get<number>(ecosystemKey(ecosystem)) ?? 0) > 0;
  }

  async heads(ids: readonly string[]): Promise<Map<string, AdvisoryHead>> {
    const out = new Map<string, AdvisoryHead>();
    for (const id of ids) {
      const head = this.store.get<Head>(`h/${id}`);
      if (head !== undefined)
        out.set(id, {
          hash: head.hash,
          packageKeys: head.packageKeys,
          withdrawn: head.withdrawn,
          aliases: head.aliases,
        });
    }
    return out;
  }

  async put(advisories: readonly StoredAdvisory[]): Promise<void> {
    const changes: LogChange[] = [];
    const ecosystems = new Map<string, number>();
    const bump = (e: string, by: number) => ecosystems.set(e, (ecosystems.get(e) ?? 0) + by);
    let stats = this.store.get<Stats>('meta/stats') ?? { advisories: 0, withdrawn: 0 };
    // A batch may name an advisory twice: the last write wins, as it would one by one.
    const written = new Map<string, Head>();
    for (const a of advisories) {
      const head: Head = {
        hash: a.hash,
        source: a.source,
        packageKeys: packageKeysOf(a.record),
        aliases: aliasesOf(a.record),
        withdrawn: a.record.withdrawn !== undefined,
      };
      const old = written.get(a.id) ?? this.store.get<Head>(`h/${a.id}`);
      written.set(a.id, head);
      changes.push([`r/${a.id}`, a.record], [`h/${a.id}`, head]);
      // A rewrite takes the advisory out of the packages and aliases it no longer names.
      const pkgs = new Set(head.packageKeys);
      const aliases = new Set(head.aliases);
      for (const pkg of old?.packageKeys ?? [])
        if (!pkgs.has(pkg)) changes.push([packageIndexKey(pkg, a.id)]);
      for (const alias of old?.aliases ?? [])
        if (!aliases.has(alias)) changes.push([aliasIndexKey(alias, a.id)]);
      for (const pkg of pkgs) changes.push([packageIndexKey(pkg, a.id), 1]);
      for (const alias of aliases) changes.push([aliasIndexKey(alias, a.id), 1]);
      for (const e of old === undefined ? [] : ecosystemsOf(old)) bump(e, -1);
      for (const e of ecosystemsOf(head)) bump(e, 1);
      stats = {
        advisories: stats.advisories + (old === undefined ? 1 : 0),
        withdrawn: stats.withdrawn + (head.withdrawn ? 1 : 0) - (old?.withdrawn === true ? 1 : 0),
      };
    }
    for (const [e, by] of ecosystems) {
      if (by === 0) continue;
      const count = (this.store.get<number>(ecosystemKey(e)) ?? 0) + by;
      changes.push(count > 0 ? [ecosystemKey(e), count] : [ecosystemKey(e)]);
    }
    changes.push(['meta/stats', stats], ['meta/format', FORMAT]);
    // One commit: every advisory of the batch is written with its indexes and counts, or none.
    this.store.commit(changes);
    this.cache.clear();
    for (const id of written.keys()) this.records.delete(id);
  }

  async get(id: string): Promise<StoredAdvisory | undefined> {
    const head = this.store.get<Head>(`h/${id}`);
    const record = this.record(id);
    if (head === undefined || record === undefined) return undefined;
    return { id, hash: head.hash, source: head.source, record };
  }

  async idsByAlias(alias: string): Promise<string[]> {
    return this.store.keys(aliasIndexKey(alias, '')).map(idOfIndexKey).sort();
  }

  async *all(): AsyncIterable<StoredAdvisory> {
    for (const [key, raw] of this.store.scan('h/')) {
      const id = key.slice(2);
      const head = JSON.parse(raw) as Head;
      // Read directly, not through the record cache: an export reads every record once.
      const record = this.store.get<OsvRecord>(`r/${id}`);
      if (record !== undefined) yield { id, hash: head.hash, source: head.source, record };
    }
  }

  /** One log commit: the old mapping or the new one, never a mix. */
  async putRepositoryCpes(mapping: RepositoryCpes): Promise<RepositoryCpesWrite> {
    const stored = new Map<string, string[]>();
    for (const key of this.store.keys('repo/'))
      stored.set(key.slice(5), this.store.get<string[]>(key) ?? []);
    const { put, deleted } = repositoryCpesDiff(stored, mapping);
    this.store.commit([
      ...put.map(([id, cpes]): LogChange => [`repo/${id}`, cpes]),
      ...deleted.map((id): LogChange => [`repo/${id}`]),
    ]);
    return { put: put.length, deleted: deleted.length };
  }

  async repositoryCpes(repositoryIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const id of repositoryIds) {
      const cpes = this.store.get<string[]>(`repo/${id}`);
      if (cpes !== undefined) out.set(id, cpes);
    }
    return out;
  }

  async cveFactHashes(
    keys: readonly { kind: CveFactKind; cve: string }[],
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const { kind, cve } of keys) {
      const stored = this.store.get<StoredFact>(`fact/${cveFactKey(kind, cve)}`);
      if (stored !== undefined) out.set(cveFactKey(kind, cve), stored.hash);
    }
    return out;
  }

  async putCveFacts(facts: readonly CveFact[]): Promise<void> {
    if (facts.length === 0) return;
    this.store.commit(
      facts.map(
        (f): LogChange => [
          `fact/${cveFactKey(f.kind, f.cve)}`,
          { hash: cveFactHash(f), facts: f.facts } satisfies StoredFact,
        ],
      ),
    );
  }

  async hasCveFacts(kind: CveFactKind): Promise<boolean> {
    return this.store.some(`fact/${kind}#`);
  }

  async cveFacts(cves: readonly string[]): Promise<Map<string, CveFacts>> {
    const out = new Map<string, CveFacts>();
    for (const cve of new Set(cves)) {
      const facts: Record<string, unknown> = {};
      for (const kind of CVE_FACT_KINDS) {
        const stored = this.store.get<StoredFact>(`fact/${cveFactKey(kind, cve)}`);
        if (stored !== undefined) facts[kind] = stored.facts;
      }
      if (Object.keys(facts).length > 0) out.set(cve, facts as CveFacts);
    }
    return out;
  }

  async checkpoint(source: string): Promise<FeedCheckpoint | undefined> {
    return this.store.get<FeedCheckpoint>(`cp/${source}`);
  }

  async saveCheckpoint(checkpoint: FeedCheckpoint): Promise<void> {
    this.store.commit([[`cp/${checkpoint.source}`, checkpoint]]);
  }

  async acquireLease(source: string, holder: string, ttlMs: number): Promise<boolean> {
    const lease = this.store.get<Lease>(`lease/${source}`);
    if (lease !== undefined && lease.holder !== holder && lease.expiresAt > Date.now())
      return false;
    this.store.commit([[`lease/${source}`, { holder, expiresAt: Date.now() + ttlMs }]]);
    return true;
  }

  async releaseLease(source: string, holder: string): Promise<void> {
    const lease = this.store.get<Lease>(`lease/${source}`);
    if (lease?.holder === holder) this.store.commit([[`lease/${source}`]]);
  }

  async stats(): Promise<AdvisoryStoreStats> {
    const stats = this.store.get<Stats>('meta/stats') ?? { advisories: 0, withdrawn: 0 };
    const sources = [...this.store.scan('cp/')].map(([, raw]) => JSON.parse(raw) as FeedCheckpoint);
    return { advisories: stats.advisories, withdrawn: stats.withdrawn, sources };
  }

  async close(): Promise<void> {
    this.store.close();
  }

  /** The store's files (log and segments, with sizes), for `db status` and benchmarks. */
  files(): ReturnType<SortedStore['files']> {
    return this.store.files();
  }
}
