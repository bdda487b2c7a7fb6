/** What the read API's routes read and write: the existing stores, nothing of their own. */
import type { FindingsStore } from '../stores/findings-store.js';
import type { ImageStore } from '../stores/image-store.js';
import type { ProvenanceStore } from '../stores/provenance-store.js';
import type { WorkloadStore } from '../stores/workload-store.js';

export interface ApiDeps {
  readonly images: ImageStore;
  readonly findings: FindingsStore;
  readonly provenance: ProvenanceStore;
  readonly workloads: WorkloadStore;
  /** The advisories about an alias (a CVE id reaches the GHSA or distro advisories naming it). */
  readonly advisories: { idsByAlias(alias: string): Promise<string[]> };
  /** The reports bucket: report and SBOM links are `s3://<bucket>/<key>`. */
  readonly reportsBucket?: string;
  readonly now?: () => Date;
}
