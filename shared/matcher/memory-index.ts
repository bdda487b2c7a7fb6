import type { OsvRecord } from '../advisories/osv.js';
import type { AdvisoryQuery, Candidate } from './types.js';

/** Advisory entries indexed in memory by (ecosystem, package name): the CLI's and the tests' query step. */
export class MemoryAdvisoryIndex implements AdvisoryQuery {
  private readonly byPackage = new Map<string, Candidate[]>();
  private readonly ecosystems = new Set<string>();
  private count = 0;

  add(record: OsvRecord): void {
    this.count++;
    for (const affected of record.affected ?? []) {
      if (affected.package === undefined) continue;
      this.ecosystems.add(affected.package.ecosystem);
      const key = `${affected.package.ecosystem}\u0000${affected.package.name}`;
      const list = this.byPackage.get(key);
      if (list === undefined) this.byPackage.set(key, [{ record, affected }]);
      else list.push({ record, affected });
    }
  }

  get size(): number {
    return this.count;
  }

  async candidates(ecosystem: string, name: string): Promise<readonly Candidate[]> {
    return this.byPackage.get(`${ecosystem}\u0000${name}`) ?? [];
  }

  async hasEcosystem(ecosystem: string): Promise<boolean> {
    return this.ecosystems.has(ecosystem);
  }
}
