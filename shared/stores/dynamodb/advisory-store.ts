/**
 * The advisory store on DynamoDB, with the advisories table's keys of docs/data-model.md:
 * `ADV#<id>`/`ADV` (the head, with the whole record gzip'd), `ADV#<id>`/`PKG#<pkgkey>` (the
 * affected entries for one package, indexed by `byPackage`), `ALIAS#<alias>`/`ADV#<id>`, and
 * `FEED#<source>` checkpoints and leases.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
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
import { batchGet, batchWrite, type RetryOptions, type WriteRequest } from './batch.js';
import { TABLE_KEYS } from './keys.js';

const INDEX = TABLE_KEYS.advisories.byPackage;
const HEAD_FIELDS = 'pk, contentHash, packageKeys, aliases, withdrawn';

interface HeadItem {
  pk: string;
  contentHash: string;
  packageKeys: string[];
  aliases?: string[];
  withdrawn: boolean;
}

/** What a package entry keeps of its record: enough to match and report, not the prose. */
type RecordHead = Omit<OsvRecord, 'affected' | 'details' | 'references'>;

function recordHead(record: OsvRecord): RecordHead {
  const { affected: _a, details: _d, references: _r, ...head } = record;
  return head;
}

const advKey = (id: string) => ({ pk: `ADV#${id}`, sk: 'ADV' });

// Gzip'd: the pending changes of a batch of distro advisories can name thousands of packages,
// and an item holds at most 400 KB.
const packCheckpoint = (c: FeedCheckpoint) => gzipSync(JSON.stringify(c));
const unpackCheckpoint = (stored: unknown) =>
  // Checkpoints written before they were gzip'd are plain maps.
  stored instanceof Uint8Array
    ? (JSON.parse(gunzipSync(stored).toString('utf8')) as FeedCheckpoint)
    : (stored as FeedCheckpoint);

const ecosystemKey = (ecosystem: string) => ({ pk: `ECOSYSTEM#${ecosystem}`, sk: 'ECOSYSTEM' });

// Red Hat's repository-to-CPE mapping: one item per repository (a few hundred bytes; the
// importer bounds its CPEs far under the 400 KB item limit), under one partition so a new
// mapping is compared with the stored one in a few pages of one Query.
const REPOSITORIES = 'REPOSITORIES';
const repositoryKey = (id: string) => ({ pk: REPOSITORIES, sk: `REPOSITORY#${id}` });

/** The marker saying facts of a kind were stored. */
const factsMarker = (kind: CveFactKind) => ({ pk: 'CVEFACTS', sk: `KIND#${kind}` });

/** The item of a CVE's fact of one kind. */
const factKey = (kind: CveFactKind, cve: string) => ({ pk: `CVE#${cve}`, sk: `FACT#${kind}` });

export class DynamoDbAdvisoryStore implements AdvisoryStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly retry: RetryOptions = {},
  ) {}

  // Ecosystems known to have a marker: written once per store instance, read once when present.
  private readonly markedEcosystems = new Set<string>();

  /**
   * Whether an `ECOSYSTEM#<name>` marker exists: `put` writes one, with the entries, for every
   * ecosystem an advisory names (markers are never removed: an ecosystem once synced stays
   * covered, even when its last advisory is withdrawn).
   */
  async markEcosystems(ecosystems: readonly string[]): Promise<void> {
    const missing = [...new Set(ecosystems)].filter((e) => !this.markedEcosystems.has(e));
    await batchWrite(
      this.client,
      this.table,
      missing.map((e) => ({ PutRequest: { Item: ecosystemKey(e) } })),
      this.retry,
    );
    for (const e of missing) this.markedEcosystems.add(e);
  }

  async hasEcosystem(ecosystem: string): Promise<boolean> {
    if (this.markedEcosystems.has(ecosystem)) return true;
    const out = await this.client.send(
      new GetCommand({ TableName: this.table, Key: ecosystemKey(ecosystem) }),
    );
    if (out.Item !== undefined) this.markedEcosystems.add(ecosystem);
    return out.Item !== undefined;
  }

  async candidates(ecosystem: string, name: string): Promise<readonly Candidate[]> {
    const out: Candidate[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: INDEX.name,
          KeyConditionExpression: '#k = :k',
          ExpressionAttributeNames: { '#k': INDEX.partitionKey },
          ExpressionAttributeValues: { ':k': packageKey(ecosystem, name) },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const entry = JSON.parse(item.entry as string) as RecordHead & {
          affected: NonNullable<OsvRecord['affected']>;
        };
        const record: OsvRecord = entry;
        for (const affected of entry.affected) out.push({ record, affected });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  async heads(ids: readonly string[]): Promise<Map<string, AdvisoryHead>> {
    const items = (await batchGet(
      this.client,
      this.table,
      [...new Set(ids)].map(advKey),
      HEAD_FIELDS,
      this.retry,
    )) as unknown as HeadItem[];
    const out = new Map<string, AdvisoryHead>();
    for (const item of items)
      out.set(item.pk.slice(4), {
        hash: item.contentHash,
        packageKeys: item.packageKeys,
        withdrawn: item.withdrawn,
        aliases: item.aliases ?? [],
      });
    return out;
  }

  async put(advisories: readonly StoredAdvisory[]): Promise<void> {
    if (advisories.length === 0) return;
    // What an advisory may have written before: its head's keys, and those of a `KEYS` marker
    // left by a write that stopped between its entries and its head.
    const old = (await batchGet(
      this.client,
      this.table,
      advisories.flatMap((a) => [advKey(a.id), { pk: `ADV#${a.id}`, sk: 'KEYS' }]),
      'pk, packageKeys, aliases',
      this.retry,
    )) as unknown as { pk: string; packageKeys?: string[]; aliases?: string[] }[];
    const before = new Map<string, { keys: Set<string>; aliases: Set<string> }>();
    for (const item of old) {
      const id = item.pk.slice(4);
      const b = before.get(id) ?? { keys: new Set<string>(), aliases: new Set<string>() };
      for (const k of item.packageKeys ?? []) b.keys.add(k);
      for (const a of item.aliases ?? []) b.aliases.add(a);
      before.set(id, b);
    }
    const markers: WriteRequest[] = [];
    const entries: WriteRequest[] = [];
    const heads: WriteRequest[] = [];
    const ecosystems = new Set<string>();
    for (const a of advisories) {
      const pk = `ADV#${a.id}`;
      const keys = packageKeysOf(a.record);
      const aliases = aliasesOf(a.record);
      const head = recordHead(a.record);
      for (const key of keys) {
        const { ecosystem, name } = splitPackageKey(key);
        if (!this.markedEcosystems.has(ecosystem)) ecosystems.add(ecosystem);
        const affected = candidatesOf(a.record, ecosystem, name).map((c) => c.affected);
        entries.push({
          PutRequest: {
            Item: {
              pk,
              sk: `PKG#${key}`,
              [INDEX.partitionKey]: key,
              [INDEX.sortKey]: a.id,
              entry: JSON.stringify({ ...head, affected }),
            },
          },
        });
      }
      for (const alias of aliases)
        entries.push({ PutRequest: { Item: { pk: `ALIAS#${alias}`, sk: pk } } });
      const was = before.get(a.id);
      for (const key of was?.keys ?? [])
        if (!keys.includes(key)) entries.push({ DeleteRequest: { Key: { pk, sk: `PKG#${key}` } } });
      for (const alias of was?.aliases ?? [])
        if (!aliases.includes(alias))
          entries.push({ DeleteRequest: { Key: { pk: `ALIAS#${alias}`, sk: pk } } });
      markers.push({
        PutRequest: {
          Item: {
            pk,
            sk: 'KEYS',
            packageKeys: [...new Set([...(was?.keys ?? []), ...keys])].sort(),
            aliases: [...new Set([...(was?.aliases ?? []), ...aliases])].sort(),
          },
        },
      });
      heads.push({
        PutRequest: {
          Item: {
            ...advKey(a.id),
            contentHash: a.hash,
            feedSource: a.source,
            packageKeys: keys,
            ...(aliases.length > 0 ? { aliases } : {}),
            withdrawn: a.record.withdrawn !== undefined,
            modified: a.record.modified,
            record: gzipSync(JSON.stringify(a.record)),
          },
        },
      });
    }
    // Markers first (every key an advisory may leave behind), then entries, then heads: a head
    // (with its hash) is written only once everything it points at is, so a sync stopped in
    // between sees the old hash and writes the advisory again, deleting what the marker names.
    await batchWrite(this.client, this.table, markers, this.retry);
    const ecosystemMarkers = [...ecosystems].map((e) => ({
      PutRequest: { Item: ecosystemKey(e) },
    }));
    await batchWrite(this.client, this.table, [...ecosystemMarkers, ...entries], this.retry);
    for (const e of ecosystems) this.markedEcosystems.add(e);
    await batchWrite(this.client, this.table, heads, this.retry);
    await batchWrite(
      this.client,
      this.table,
      advisories.map((a) => ({ DeleteRequest: { Key: { pk: `ADV#${a.id}`, sk: 'KEYS' } } })),
      this.retry,
    );
  }

  async get(id: string): Promise<StoredAdvisory | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.table, Key: advKey(id) }));
    const item = out.Item;
    if (item === undefined) return undefined;
    return {
      id,
      hash: item.contentHash as string,
      source: item.feedSource as string,
      record: JSON.parse(gunzipSync(item.record as Uint8Array).toString('utf8')) as OsvRecord,
    };
  }

  async idsByAlias(alias: string): Promise<string[]> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `ALIAS#${alias}` },
      }),
    );
    return (out.Items ?? []).map((i) => (i.sk as string).slice(4)).sort();
  }

  private async *scan(filter: string, values: Record<string, unknown>) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: filter,
          ExpressionAttributeValues: values,
          ExclusiveStartKey: start,
        }),
      );
      yield* page.Items ?? [];
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }

  async *all(): AsyncIterable<StoredAdvisory> {
    for await (const item of this.scan('sk = :sk', { ':sk': 'ADV' }))
      yield {
        id: (item.pk as string).slice(4),
        hash: item.contentHash as string,
        source: item.feedSource as string,
        record: JSON.parse(gunzipSync(item.record as Uint8Array).toString('utf8')) as OsvRecord,
      };
  }

  private async storedRepositoryCpes(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
          ExpressionAttributeValues: { ':pk': REPOSITORIES, ':sk': 'REPOSITORY#' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? [])
        out.set((item.sk as string).slice('REPOSITORY#'.length), item.cpes as string[]);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  /**
   * Changed and added repositories are written first, dropped ones deleted after: a write that
   * stops half-way leaves every repository with its old or its new CPEs, never none.
   */
  async putRepositoryCpes(mapping: RepositoryCpes): Promise<RepositoryCpesWrite> {
    const { put, deleted } = repositoryCpesDiff(await this.storedRepositoryCpes(), mapping);
    await batchWrite(
      this.client,
      this.table,
      put.map(([id, cpes]) => ({ PutRequest: { Item: { ...repositoryKey(id), cpes } } })),
      this.retry,
    );
    await batchWrite(
      this.client,
      this.table,
      deleted.map((id) => ({ DeleteRequest: { Key: repositoryKey(id) } })),
      this.retry,
    );
    return { put: put.length, deleted: deleted.length };
  }

  async repositoryCpes(repositoryIds: readonly string[]): Promise<Map<string, string[]>> {
    const items = await batchGet(
      this.client,
      this.table,
      [...new Set(repositoryIds)].map(repositoryKey),
      'sk, cpes',
      this.retry,
    );
    return new Map(
      items.map((i) => [(i.sk as string).slice('REPOSITORY#'.length), i.cpes as string[]]),
    );
  }

  async cveFactHashes(
    keys: readonly { kind: CveFactKind; cve: string }[],
  ): Promise<Map<string, string>> {
    const items = await batchGet(
      this.client,
      this.table,
      [...new Map(keys.map((k) => [cveFactKey(k.kind, k.cve), factKey(k.kind, k.cve)])).values()],
      'pk, sk, factHash',
      this.retry,
    );
    return new Map(
      items.map((i) => [
        cveFactKey((i.sk as string).slice(5) as CveFactKind, (i.pk as string).slice(4)),
        i.factHash as string,
      ]),
    );
  }

  /** One item per CVE and kind (`CVE#<id>` / `FACT#<kind>`), its facts as JSON text. */
  async putCveFacts(facts: readonly CveFact[]): Promise<void> {
    const latest = new Map(facts.map((f) => [cveFactKey(f.kind, f.cve), f]));
    const kinds = [...new Set(facts.map((f) => f.kind))];
    await batchWrite(
      this.client,
      this.table,
      [
        ...[...latest.values()].map((f) => ({
          PutRequest: {
            Item: {
              ...factKey(f.kind, f.cve),
              factHash: cveFactHash(f),
              facts: JSON.stringify(f.facts),
            },
          },
        })),
        ...kinds.map((kind) => ({ PutRequest: { Item: factsMarker(kind) } })),
      ],
      this.retry,
    );
  }

  /** A marker per kind (`CVEFACTS` / `KIND#<kind>`), written with the first facts of that kind. */
  async hasCveFacts(kind: CveFactKind): Promise<boolean> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.table, Key: factsMarker(kind), ConsistentRead: true }),
    );
    return out.Item !== undefined;
  }

  async cveFacts(cves: readonly string[]): Promise<Map<string, CveFacts>> {
    const keys = [...new Set(cves)].flatMap((cve) => CVE_FACT_KINDS.map((k) => factKey(k, cve)));
    const items = await batchGet(this.client, this.table, keys, 'pk, sk, facts', this.retry);
    const out = new Map<string, Record<string, unknown>>();
    for (const i of items) {
      const cve = (i.pk as string).slice(4);
      const facts = out.get(cve) ?? {};
      facts[(i.sk as string).slice(5)] = JSON.parse(i.facts as string);
      out.set(cve, facts);
    }
    return out as Map<string, CveFacts>;
  }

  async checkpoint(source: string): Promise<FeedCheckpoint | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: `FEED#${source}`, sk: 'CHECKPOINT' },
        ConsistentRead: true,
      }),
    );
    const stored = out.Item?.checkpoint;
    return stored === undefined ? undefined : unpackCheckpoint(stored);
  }

  async saveCheckpoint(checkpoint: FeedCheckpoint): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: `FEED#${checkpoint.source}`,
          sk: 'CHECKPOINT',
          checkpoint: packCheckpoint(checkpoint),
        },
      }),
    );
  }

  async acquireLease(source: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `FEED#${source}`,
            sk: 'LEASE',
            holder,
            leaseUntil: now + ttlMs,
            // The TTL removes a lease whose holder died; leaseUntil decides before that.
            [TABLE_KEYS.ttl]: Math.ceil((now + ttlMs) / 1000) + 3600,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR holder = :h OR leaseUntil < :now',
          ExpressionAttributeValues: { ':h': holder, ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async releaseLease(source: string, holder: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: `FEED#${source}`, sk: 'LEASE' },
          ConditionExpression: 'holder = :h',
          ExpressionAttributeValues: { ':h': holder },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async stats(): Promise<AdvisoryStoreStats> {
    let advisories = 0;
    let withdrawn = 0;
    const sources: FeedCheckpoint[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.table,
          ProjectionExpression: 'sk, withdrawn, checkpoint',
          FilterExpression: 'sk = :adv OR sk = :cp',
          ExpressionAttributeValues: { ':adv': 'ADV', ':cp': 'CHECKPOINT' },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        if (item.sk === 'CHECKPOINT') sources.push(unpackCheckpoint(item.checkpoint));
        else {
          advisories++;
          if (item.withdrawn === true) withdrawn++;
        }
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    sources.sort((a, b) => (a.source < b.source ? -1 : 1));
    return { advisories, withdrawn, sources };
  }

  async close(): Promise<void> {}
}
