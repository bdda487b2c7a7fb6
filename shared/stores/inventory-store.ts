/**
 * Inventories by image digest and scan, the reverse index from package key to digests, and the
 * per-layer result cache (docs/data-model.md, inventories table). Written once over the
 * item-table port.
 *
 * A scan writes its packages under a new scan id and the header last; readers go through the
 * header, so a half-written inventory (packages without a header) is never read. The image
 * record then points at the new scan id, and the old inventory is deleted.
 */
import { createHash } from 'node:crypto';
import type { InventoryPackage } from '../matcher/types.js';
import { packageKey } from './advisory-store.js';
import { TABLE_KEYS } from './dynamodb/keys.js';
import type { ItemTable } from './item-table.js';

export interface InventoryHeader {
  readonly digest: string;
  readonly scanId: string;
  readonly os?: string;
  readonly packageCount: number;
  /** The extractor set (id@version list) that produced it. */
  readonly extractors: string;
  readonly committedAt: string;
}

export interface StoredInventory {
  readonly header: InventoryHeader;
  readonly packages: InventoryPackage[];
}

/** An image whose inventory names a package, and the scan that inventory belongs to. */
export interface PackageRef {
  readonly digest: string;
  readonly scanId: string;
}

const INDEX = TABLE_KEYS.inventories.byPackage;

/** The key advisories are queried by: OS packages by their source package. */
export function inventoryPackageKey(p: InventoryPackage): string {
  return packageKey(p.ecosystem, p.sourceName ?? p.name);
}

const short = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * A binary's packed symbol table (matcher/reachability.ts) is stored once, in `SYM#` items of
 * its own, not on every package item: a Go binary's table is tens of kilobytes (esbuild's 48
 * KB, docker-registry's 90 KB: docs/reachability.md), and a DynamoDB item holds 400 KB at
 * most, so a larger table is split into parts of this many characters.
 */
const SYMBOL_PART = 300_000;

interface SymbolItem {
  readonly location: string;
  /** The package that carried the table (`name@version`): getInventory gives it back to it. */
  readonly owner: string;
  readonly part: number;
  readonly data: string;
}

function symbolItems(pk: string, scanId: string, packages: readonly InventoryPackage[]) {
  return packages.flatMap((p) => {
    if (p.symbols === undefined || p.location === undefined) return [];
    const parts = Math.max(1, Math.ceil(p.symbols.length / SYMBOL_PART));
    return Array.from({ length: parts }, (_, part) => ({
      put: {
        pk,
        sk: `SYM#${scanId}#${short(p.location ?? '')}#${String(part).padStart(4, '0')}`,
        location: p.location,
        owner: `${p.name}@${p.version}`,
        part,
        data: (p.symbols as string).slice(part * SYMBOL_PART, (part + 1) * SYMBOL_PART),
      },
    }));
  });
}

/** The stored tables by binary location (parts joined in order), with their owners. */
async function storedSymbols(
  table: ItemTable,
  pk: string,
  scanId: string,
): Promise<Map<string, { owner: string; symbols: string }>> {
  const byLocation = new Map<string, { owner: string; parts: SymbolItem[] }>();
  for (const item of await table.query(pk, { prefix: `SYM#${scanId}#` })) {
    const s = item as unknown as SymbolItem;
    const entry = byLocation.get(s.location) ?? { owner: s.owner, parts: [] };
    entry.parts.push(s);
    byLocation.set(s.location, entry);
  }
  return new Map(
    [...byLocation].map(([location, { owner, parts }]) => [
      location,
      {
        owner,
        symbols: parts
          .sort((a, b) => a.part - b.part)
          .map((x) => x.data)
          .join(''),
      },
    ]),
  );
}

export class InventoryStore {
  constructor(private readonly table: ItemTable) {}

  async putInventory(
    header: InventoryHeader,
    packages: readonly InventoryPackage[],
  ): Promise<void> {
    const pk = `DIGEST#${header.digest}`;
    // Each package under the key advisories name it by (its source package for OS packages),
    // and once more under each other key that may name it (`PKX#`): its own name when it
    // differs (distro advisories name binary packages too) and its further ecosystems; the
    // reverse index must find the image by any of them.
    await this.table.batch([
      ...symbolItems(pk, header.scanId, packages),
      ...packages.flatMap((p) => {
        const { symbols: _symbols, ...stored } = p;
        const item = (prefix: string, key: string) => ({
          put: {
            pk,
            sk: `${prefix}#${header.scanId}#${key}#${p.version}#${short(`${p.name}\u0000${p.location ?? ''}`)}`,
            [INDEX.partitionKey]: key,
            [INDEX.sortKey]: header.digest,
            scanId: header.scanId,
            package: stored,
          },
        });
        const key = inventoryPackageKey(p);
        // Further ecosystems that may name it (Red Hat's per-repository ones) find it too.
        const more = new Set(
          [p.ecosystem, ...(p.extraEcosystems ?? [])].flatMap((e) => [
            packageKey(e, p.sourceName ?? p.name),
            packageKey(e, p.name),
          ]),
        );
        more.delete(key);
        return [item('PKG', key), ...[...more].map((k) => item('PKX', k))];
      }),
    ]);
    await this.table.transact([
      { put: { pk, sk: `INV#${header.scanId}`, ...header, packageCount: packages.length } },
    ]);
  }

  async getInventory(digest: string, scanId: string): Promise<StoredInventory | undefined> {
    const pk = `DIGEST#${digest}`;
    const header = await this.table.get({ pk, sk: `INV#${scanId}` });
    if (header === undefined) return undefined;
    const items = await this.table.query(pk, { prefix: `PKG#${scanId}#` });
    const symbols = await storedSymbols(this.table, pk, scanId);
    const { pk: _pk, sk: _sk, ...rest } = header;
    return {
      header: rest as unknown as InventoryHeader,
      packages: items.map((i) => {
        const p = i.package as InventoryPackage;
        const table = p.location === undefined ? undefined : symbols.get(p.location);
        return table !== undefined && table.owner === `${p.name}@${p.version}`
          ? { ...p, symbols: table.symbols }
          : p;
      }),
    };
  }

  /**
   * The packages of a committed inventory that advisories name by one of `keys` (by source or
   * by own name), each once: what a rescan re-matches.
   */
  async packagesWithKeys(
    digest: string,
    scanId: string,
    keys: readonly string[],
  ): Promise<InventoryPackage[]> {
    const pk = `DIGEST#${digest}`;
    if ((await this.table.get({ pk, sk: `INV#${scanId}` })) === undefined) return [];
    const found = new Map<string, InventoryPackage>();
    for (const key of new Set(keys))
      for (const prefix of ['PKG', 'PKX'])
        for (const item of await this.table.query(pk, { prefix: `${prefix}#${scanId}#${key}#` })) {
          const p = item.package as InventoryPackage;
          found.set(`${p.ecosystem}\u0000${p.name}\u0000${p.version}\u0000${p.location ?? ''}`, p);
        }
    if (found.size === 0) return [];
    // A rescan judges reachability too: each package gets its binary's table, whichever
    // package of that binary carried it.
    const symbols = await storedSymbols(this.table, pk, scanId);
    return [...found.values()].map((p) => {
      const table = p.location === undefined ? undefined : symbols.get(p.location);
      return table === undefined ? p : { ...p, symbols: table.symbols };
    });
  }

  /** Removes an inventory: header first, so that it stops being readable at once. */
  async deleteInventory(digest: string, scanId: string): Promise<void> {
    const pk = `DIGEST#${digest}`;
    await this.table.transact([{ delete: { pk, sk: `INV#${scanId}` } }]);
    const items = [
      ...(await this.table.query(pk, { prefix: `PKG#${scanId}#` })),
      ...(await this.table.query(pk, { prefix: `PKX#${scanId}#` })),
      ...(await this.table.query(pk, { prefix: `SYM#${scanId}#` })),
    ];
    await this.table.batch(items.map((i) => ({ delete: { pk, sk: i.sk } })));
  }

  /**
   * The reverse index: images whose inventories name the package key, with the scan each entry
   * belongs to (the caller keeps those matching the image's current scan id).
   */
  async imagesWithPackage(key: string): Promise<PackageRef[]> {
    const items = await this.table.queryIndex(INDEX, key);
    const seen = new Set<string>();
    const out: PackageRef[] = [];
    for (const i of items) {
      const ref = { digest: i[INDEX.sortKey] as string, scanId: i.scanId as string };
      const id = `${ref.digest}\u0000${ref.scanId}`;
      if (!seen.has(id)) {
        seen.add(id);
        out.push(ref);
      }
    }
    return out;
  }
}
