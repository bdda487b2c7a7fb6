/**
 * The embedded advisory store: one log file in a folder the user chooses (see log-file.ts),
 * indexes by package and alias rebuilt in memory when it opens, records parsed on first use.
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
import { type LogChange, LogFile } from './log-file.js';

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

function addTo(index: Map<string, Set<string>>, key: string, id: string): void {
  const set = index.get(key);
  if (set === undefined) index.set(key, new Set([id]));
  else set.add(id);
}

export class EmbeddedAdvisoryStore implements AdvisoryStore {
  private readonly byPackage = new Map<string, Set<string>>();
  private readonly byAlias = new Map<string, Set<string>>();
  private readonly records = new Map<string, OsvRecord>();
  // Candidates per package key, built on first query; any write clears it.
  private readonly cache = new Map<string, readonly Candidate[]>();
  // Ecosystems some advisory names, built on first question; any write clears it.
  private ecosystems: Set<string> | undefined;

  private constructor(private readonly log: LogFile) {
    for (const key of log.keys('h/')) {
      const id = key.slice(2);
      this.index(id, log.get<Head>(key) as Head);
    }
  }

  /** Opens the store in `dir` (created if missing); `read` mode takes no lock and cannot write. */
  static open(dir: string, mode: 'read' | 'write' = 'write'): EmbeddedAdvisoryStore {
    const log = LogFile.open(dir, 'advisories', mode);
    // The folder's lock already admits one writer: leases left by a writer that was killed
    // (Ctrl-C during `bosun db sync`) would only block the next sync until they expire.
    if (mode === 'write') log.commit(log.keys('lease/').map((k) => [k] as const));
    return new EmbeddedAdvisoryStore(log);
  }

  private index(id: string, head: Head): void {
    for (const key of head.packageKeys) addTo(this.byPackage, key, id);
    for (const alias of head.aliases) addTo(this.byAlias, alias, id);
  }

  private unindex(id: string, head: Head): void {
    for (const key of head.packageKeys) this.byPackage.get(key)?.delete(id);
    for (const alias of head.aliases) this.byAlias.get(alias)?.delete(id);
  }

  private record(id: string): OsvRecord | undefined {
    let record = this.records.get(id);
    if (record === undefined) {
      record = this.log.get<OsvRecord>(`r/${id}`);
      if (record !== undefined) this.records.set(id, record);
    }
    return record;
  }

  async candidates(ecosystem: string, name: string): Promise<readonly Candidate[]> {
    const key = packageKey(ecosystem, name);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const ids = this.byPackage.get(key);
    const out: Candidate[] = [];
    for (const id of [...(ids ?? [])].sort()) {
      const record = this.record(id);
      if (record !== undefined) out.push(...candidatesOf(record, ecosystem, name));
    }
    this.cache.set(key, out);
    return out;
  }

  /** Nothing to record: the answer comes from the stored package entries themselves. */
  async markEcosystems(_ecosystems: readonly string[]): Promise<void> {}

  async hasEcosystem(ecosystem: string): Promise<boolean> {
    if (this.ecosystems === undefined) {
      this.ecosystems = new Set();
      for (const [key, ids] of this.byPackage)
        if (ids.size > 0) this.ecosystems.add(splitPackageKey(key).ecosystem);
    }
    return this.ecosystems.has(ecosystem);
  }

  async heads(ids: readonly string[]): Promise<Map<string, AdvisoryHead>> {
    const out = new Map<string, AdvisoryHead>();
    for (const id of ids) {
      const head = this.log.get<Head>(`h/${id}`);
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
    const heads: [string, Head, Head | undefined][] = [];
    for (const a of advisories) {
      const head: Head = {
        hash: a.hash,
        source: a.source,
        packageKeys: packageKeysOf(a.record),
        aliases: aliasesOf(a.record),
        withdrawn: a.record.withdrawn !== undefined,
      };
      changes.push([`r/${a.id}`, a.record], [`h/${a.id}`, head]);
      heads.push([a.id, head, this.log.get<Head>(`h/${a.id}`)]);
    }
    // One log commit: every advisory of the batch is written, or none is.
    this.log.commit(changes);
    this.cache.clear();
    this.ecosystems = undefined;
    for (const [id, head, old] of heads) {
      // A rewrite takes the advisory out of the packages and aliases it no longer names.
      if (old !== undefined) this.unindex(id, old);
      this.index(id, head);
      this.records.delete(id);
    }
  }

  async get(id: string): Promise<StoredAdvisory | undefined> {
    const head = this.log.get<Head>(`h/${id}`);
    const record = this.record(id);
    if (head === undefined || record === undefined) return undefined;
    return { id, hash: head.hash, source: head.source, record };
  }

  async idsByAlias(alias: string): Promise<string[]> {
    return [...(this.byAlias.get(alias) ?? [])].sort();
  }

  async *all(): AsyncIterable<StoredAdvisory> {
    for (const key of this.log.keys('h/')) {
      const stored = await this.get(key.slice(2));
      if (stored !== undefined) yield stored;
    }
  }

  /** One log commit: the old mapping or the new one, never a mix. */
  async putRepositoryCpes(mapping: RepositoryCpes): Promise<RepositoryCpesWrite> {
    const stored = new Map<string, string[]>();
    for (const key of this.log.keys('repo/'))
      stored.set(key.slice(5), this.log.get<string[]>(key) ?? []);
    const { put, deleted } = repositoryCpesDiff(stored, mapping);
    this.log.commit([
      ...put.map(([id, cpes]): LogChange => [`repo/${id}`, cpes]),
      ...deleted.map((id): LogChange => [`repo/${id}`]),
    ]);
    return { put: put.length, deleted: deleted.length };
  }

  async repositoryCpes(repositoryIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const id of repositoryIds) {
      const cpes = this.log.get<string[]>(`repo/${id}`);
      if (cpes !== undefined) out.set(id, cpes);
    }
    return out;
  }

  async cveFactHashes(
    keys: readonly { kind: CveFactKind; cve: string }[],
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const { kind, cve } of keys) {
      const stored = this.log.get<StoredFact>(`fact/${cveFactKey(kind, cve)}`);
      if (stored !== undefined) out.set(cveFactKey(kind, cve), stored.hash);
    }
    return out;
  }

  async putCveFacts(facts: readonly CveFact[]): Promise<void> {
    if (facts.length === 0) return;
    this.log.commit(
      facts.map(
        (f): LogChange => [
          `fact/${cveFactKey(f.kind, f.cve)}`,
          { hash: cveFactHash(f), facts: f.facts } satisfies StoredFact,
        ],
      ),
    );
  }

  async hasCveFacts(kind: CveFactKind): Promise<boolean> {
    return this.log.keys(`fact/${kind}#`).length > 0;
  }

  async cveFacts(cves: readonly string[]): Promise<Map<string, CveFacts>> {
    const out = new Map<string, CveFacts>();
    for (const cve of new Set(cves)) {
      const facts: Record<string, unknown> = {};
      for (const kind of CVE_FACT_KINDS) {
        const stored = this.log.get<StoredFact>(`fact/${cveFactKey(kind, cve)}`);
        if (stored !== undefined) facts[kind] = stored.facts;
      }
      if (Object.keys(facts).length > 0) out.set(cve, facts as CveFacts);
    }
    return out;
  }

  async checkpoint(source: string): Promise<FeedCheckpoint | undefined> {
    return this.log.get<FeedCheckpoint>(`cp/${source}`);
  }

  async saveCheckpoint(checkpoint: FeedCheckpoint): Promise<void> {
    this.log.commit([[`cp/${checkpoint.source}`, checkpoint]]);
  }

  async acquireLease(source: string, holder: string, ttlMs: number): Promise<boolean> {
    const lease = this.log.get<Lease>(`lease/${source}`);
    if (lease !== undefined && lease.holder !== holder && lease.expiresAt > Date.now())
      return false;
    this.log.commit([[`lease/${source}`, { holder, expiresAt: Date.now() + ttlMs }]]);
    return true;
  }

  async releaseLease(source: string, holder: string): Promise<void> {
    const lease = this.log.get<Lease>(`lease/${source}`);
    if (lease?.holder === holder) this.log.commit([[`lease/${source}`]]);
  }

  async stats(): Promise<AdvisoryStoreStats> {
    let withdrawn = 0;
    const heads = this.log.keys('h/');
    for (const key of heads) if (this.log.get<Head>(key)?.withdrawn === true) withdrawn++;
    const sources = this.log
      .keys('cp/')
      .map((k) => this.log.get<FeedCheckpoint>(k))
      .filter((c): c is FeedCheckpoint => c !== undefined);
    return { advisories: heads.length, withdrawn, sources };
  }

  async close(): Promise<void> {
    this.log.close();
  }
}
