/**
 * VEX documents a deployment applies (docs/data-model.md, findings table): one item per document
 * and scope (`*` for every image, or a repository), its statements as read (shared/vex), who
 * put it and when, and an optional expiry after which it no longer applies (and DynamoDB's TTL
 * removes it). Statements are stored gzip'd: a document of thousands of statements stays under
 * DynamoDB's 400 KB item limit, and one that would not is refused whole.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { BosunError } from '../errors.js';
import type { VexDocument, VexFormat, VexStatement } from '../vex/types.js';
import { expiryMarkerDelete, expiryMarkerWrites } from './decision-expiry.js';
import { TABLE_KEYS } from './dynamodb/keys.js';
import type { Item, ItemTable } from './item-table.js';

/** Room left in a 400 KB item for the key and the other attributes. */
export const MAX_VEX_BYTES = 350 * 1024;
/** Vulnerability ids (names and aliases) a document's expiry marker can list in one item. */
export const MAX_VEX_IDS = 10_000;

export class VexTooLargeError extends BosunError {
  readonly fatal = false;
  constructor(readonly bytes: number) {
    super(
      `VEX document too large: ${bytes} bytes compressed, at most ${MAX_VEX_BYTES}; split it by product`,
    );
  }
}

export interface StoredVex {
  /** `*` or a repository name. */
  readonly scope: string;
  /** Bosun's id of the document: a hash of its own id (`@id`, serial number) or its content. */
  readonly id: string;
  readonly documentId?: string;
  readonly format: VexFormat;
  readonly author?: string;
  readonly statements: readonly VexStatement[];
  /** The IAM principal that put it. */
  readonly uploadedBy: string;
  readonly uploadedAt: string;
  /** Epoch seconds after which it no longer applies. */
  readonly expiresAt?: number;
}

/** A document's id in the store: stable across re-uploads of the same document. */
export function vexIdOf(doc: VexDocument, text: string): string {
  return createHash('sha256')
    .update(doc.id ?? text)
    .digest('hex')
    .slice(0, 24);
}

function key(scope: string, id: string) {
  return { pk: `VEX#${scope}`, sk: `DOC#${id}` };
}

function fromItem(i: Item): StoredVex {
  const statements = JSON.parse(
    gunzipSync(Buffer.from(i.statements as string, 'base64')).toString('utf8'),
  ) as VexStatement[];
  return {
    scope: i.scope as string,
    id: i.id as string,
    ...(i.documentId === undefined ? {} : { documentId: i.documentId as string }),
    format: i.format as VexFormat,
    ...(i.author === undefined ? {} : { author: i.author as string }),
    statements,
    uploadedBy: i.uploadedBy as string,
    uploadedAt: i.uploadedAt as string,
    ...(i.expiresAt === undefined ? {} : { expiresAt: i.expiresAt as number }),
  };
}

export class VexStore {
  constructor(private readonly table: ItemTable) {}

  /** Stores (or replaces) a document; throws VexTooLargeError before writing anything. */
  async put(v: StoredVex): Promise<void> {
    const packed = gzipSync(JSON.stringify(v.statements)).toString('base64');
    if (packed.length > MAX_VEX_BYTES) throw new VexTooLargeError(packed.length);
    const vulnerabilityIds = [
      ...new Set(v.statements.flatMap((s) => [s.vulnerability, ...s.aliases])),
    ];
    if (vulnerabilityIds.length > MAX_VEX_IDS) throw new VexTooLargeError(packed.length);
    await this.table.transact([
      // Its expiry re-opens findings: the sweep finds it by this marker (decision-expiry.ts).
      ...expiryMarkerWrites(
        { kind: 'vex', scope: v.scope, vulnerabilityIds, packageKey: '*' },
        v.id,
        v.expiresAt,
      ),
      {
        put: {
          ...key(v.scope, v.id),
          scope: v.scope,
          id: v.id,
          ...(v.documentId === undefined ? {} : { documentId: v.documentId }),
          format: v.format,
          ...(v.author === undefined ? {} : { author: v.author }),
          statements: packed,
          statementCount: v.statements.length,
          uploadedBy: v.uploadedBy,
          uploadedAt: v.uploadedAt,
          ...(v.expiresAt === undefined ? {} : { [TABLE_KEYS.ttl]: v.expiresAt }),
        },
      },
    ]);
  }

  async get(scope: string, id: string): Promise<StoredVex | undefined> {
    const item = await this.table.get(key(scope, id));
    return item === undefined ? undefined : fromItem(item);
  }

  async delete(scope: string, id: string): Promise<void> {
    await this.table.transact([{ delete: key(scope, id) }, expiryMarkerDelete('vex', scope, id)]);
  }

  /** The unexpired documents of one scope. */
  async documents(scope: string): Promise<StoredVex[]> {
    return (await this.table.query(`VEX#${scope}`, { prefix: 'DOC#' })).map(fromItem);
  }

  /**
   * Every unexpired statement of these scopes (`*` for the global documents, repository names
   * for theirs).
   */
  async statementsFor(scopes: readonly string[]): Promise<VexStatement[]> {
    const docs = await Promise.all([...new Set(scopes)].map((s) => this.documents(s)));
    return docs.flat().flatMap((d) => d.statements);
  }
}
