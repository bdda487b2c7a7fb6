import type { CveFact, CveFactKind, CveFacts } from '../advisories/cve-facts.js';
import type { RepositoryCpes } from '../advisories/importers/redhat-repository-to-cpe.js';
import type { OsvRecord } from '../advisories/osv.js';
import type { RepositoryCpeLookup } from '../inventory/redhat-repositories.js';
import type { AdvisoryQuery, Candidate } from './types.js';

/**
 * Advisory entries indexed in memory by (ecosystem, package name), Red Hat's repository-to-CPE
 * mapping and the CVE feeds' facts when the advisories came with them: the CLI's and the tests'
 * query step.
 */
export class MemoryAdvisoryIndex implements AdvisoryQuery, RepositoryCpeLookup {
  private readonly byPackage = new Map<string, Candidate[]>();
  private repositories: RepositoryCpes = new Map();
  private readonly ecosystems = new Set<string>();
  private readonly facts = new Map<string, CveFacts>();
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

  /** Replaces the repository-to-CPE mapping (a folder's `repository-to-cpe.json`). */
  setRepositoryCpes(mapping: RepositoryCpes): void {
    this.repositories = mapping;
  }

  async repositoryCpes(repositoryIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const id of repositoryIds) {
      const cpes = this.repositories.get(id);
      if (cpes !== undefined) out.set(id, [...cpes]);
    }
    return out;
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

  /** Adds what a CVE feed says (the newest fact of each kind and CVE is kept). */
  addCveFact(fact: CveFact): void {
    this.facts.set(fact.cve, { ...this.facts.get(fact.cve), [fact.kind]: fact.facts });
  }

  async hasCveFacts(kind: CveFactKind): Promise<boolean> {
    for (const facts of this.facts.values()) if (facts[kind] !== undefined) return true;
    return false;
  }

  async cveFacts(cves: readonly string[]): Promise<Map<string, CveFacts>> {
    const out = new Map<string, CveFacts>();
    for (const cve of cves) {
      const facts = this.facts.get(cve);
      if (facts !== undefined) out.set(cve, facts);
    }
    return out;
  }
}
