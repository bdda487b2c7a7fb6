/**
 * The item-table port on the embedded log (log-file.ts): items keyed by `pk` and `sk`, the
 * index kept in memory (built on first use), transactions as one log commit.
 */
import {
  type Condition,
  expired,
  type IndexDef,
  type Item,
  type ItemKey,
  type ItemTable,
  type RangeOptions,
  type Write,
} from '../item-table.js';
import { type LogChange, LogFile } from './log-file.js';

const SEP = '\u0000';
const keyOf = (k: ItemKey) => `${k.pk}${SEP}${k.sk}`;

function inRange(sort: string, range: RangeOptions = {}): boolean {
  if (range.prefix !== undefined) return sort.startsWith(range.prefix);
  return (
    (range.from === undefined || sort >= range.from) && (range.to === undefined || sort <= range.to)
  );
}

export class EmbeddedItemTable implements ItemTable {
  private readonly indexes = new Map<
    string,
    { def: IndexDef; byValue: Map<string, Set<string>> }
  >();

  private constructor(private readonly log: LogFile) {}

  /** Opens the table `name` in `dir`; `read` mode takes no lock and cannot write. */
  static open(dir: string, name: string, mode: 'read' | 'write' = 'write'): EmbeddedItemTable {
    return new EmbeddedItemTable(LogFile.open(dir, name, mode));
  }

  private item(key: string): Item | undefined {
    const item = this.log.get<Item>(key);
    return item === undefined || expired(item) ? undefined : item;
  }

  async get(key: ItemKey): Promise<Item | undefined> {
    return this.item(keyOf(key));
  }

  async query(pk: string, range?: RangeOptions): Promise<Item[]> {
    const prefix = `${pk}${SEP}${range?.prefix ?? ''}`;
    const out: Item[] = [];
    for (const key of this.log.keys(prefix)) {
      const item = this.item(key);
      if (item !== undefined && inRange(item.sk, range)) out.push(item);
    }
    return out;
  }

  private index(def: IndexDef) {
    let index = this.indexes.get(def.name);
    if (index === undefined) {
      index = { def, byValue: new Map() };
      this.indexes.set(def.name, index);
      for (const key of this.log.keys()) this.addToIndex(index, key, this.log.get<Item>(key));
    }
    return index;
  }

  private addToIndex(
    index: { def: IndexDef; byValue: Map<string, Set<string>> },
    key: string,
    item: Item | undefined,
  ): void {
    const value = item?.[index.def.partitionKey];
    if (typeof value !== 'string' || typeof item?.[index.def.sortKey] !== 'string') return;
    const set = index.byValue.get(value);
    if (set === undefined) index.byValue.set(value, new Set([key]));
    else set.add(key);
  }

  async queryIndex(def: IndexDef, value: string, range?: RangeOptions): Promise<Item[]> {
    const index = this.index(def);
    const out: Item[] = [];
    for (const key of index.byValue.get(value) ?? []) {
      const item = this.item(key);
      // The in-memory index may hold keys whose item moved to another value: check again.
      if (item === undefined || item[def.partitionKey] !== value) continue;
      const sort = item[def.sortKey] as string;
      if (inRange(sort, range)) out.push(item);
    }
    return out.sort((a, b) => {
      const x = a[def.sortKey] as string;
      const y = b[def.sortKey] as string;
      return x < y ? -1 : x > y ? 1 : 0;
    });
  }

  private holds(condition: Condition | undefined, key: ItemKey): boolean {
    if (condition === undefined) return true;
    const current = this.item(keyOf(key));
    if (condition.kind === 'absent') return current === undefined;
    if (condition.kind === 'missing') return current?.[condition.attribute] === undefined;
    return current !== undefined && current[condition.attribute] === condition.value;
  }

  private apply(writes: readonly Write[]): void {
    const changes: LogChange[] = writes.map((w) =>
      'put' in w ? [keyOf(w.put), w.put] : [keyOf(w.delete)],
    );
    this.log.commit(changes);
    for (const w of writes)
      if ('put' in w)
        for (const index of this.indexes.values()) this.addToIndex(index, keyOf(w.put), w.put);
  }

  async transact(writes: readonly Write[]): Promise<boolean> {
    for (const w of writes)
      if (!this.holds(w.condition, 'put' in w ? w.put : w.delete)) return false;
    this.apply(writes);
    return true;
  }

  async batch(writes: readonly Write[]): Promise<void> {
    for (let i = 0; i < writes.length; i += 1000) this.apply(writes.slice(i, i + 1000));
  }

  close(): void {
    this.log.close();
  }
}
