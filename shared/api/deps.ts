/** What the read API's routes read and write: the existing stores, nothing of their own. */
import type { RescanMessage } from '../events/rescan.js';
import type { FindingsStore } from '../stores/findings-store.js';
import type { ImageStore } from '../stores/image-store.js';
import type { ProvenanceStore } from '../stores/provenance-store.js';
import type { VexStore } from '../stores/vex-store.js';
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
  /** VEX documents, beside the suppressions in the findings table. */
  readonly vex: VexStore;
  /**
   * Sends rescan messages to the rescan queue: what a suppression or VEX document put or
   * deleted asks for (api/rescans.ts). Absent: nothing is queued.
   */
  readonly queueRescans?: (messages: readonly RescanMessage[]) => Promise<void>;
  readonly now?: () => Date;
}
