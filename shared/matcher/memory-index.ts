import type { OsvRecord } from '../advisories/osv.js';
import type { AdvisoryQuery } from './types.js';

/** Advisories indexed in memory by (ecosystem, package name): the CLI's and the tests' query step. */
export class MemoryAdvisoryIndex implements AdvisoryQuery {
  private readonly byPackage = new Map<string, OsvRecord[]>();
  private count = 0;

  add(record: OsvRecord): void {
    this.count++;
    const keys = new Set(
      (record.affected ?? []).flatMap((a) =>
        a.package === undefined ? [] : [`${a.package.ecosystem}\u0000${a.package.name}`],
      ),
    );
    for (const key of keys) {
      const list = this.byPackage.get(key);
      if (list === undefined) this.byPackage.set(key, [record]);
      else list.push(record);
    }
  }

  get size(): number {
    return this.count;
  }

  async candidates(ecosystem: string, name: string): Promise<readonly OsvRecord[]> {
    return this.byPackage.get(`${ecosystem}\u0000${name}`) ?? [];
  }
}
