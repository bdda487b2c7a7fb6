/**
 * What the scan's steps share: the run's state, filled in step by step (scan.ts names the steps
 * in the order they run), its ports, and its outcome.
 */
import { createHash } from 'node:crypto';
import type { Severity } from '../../advisories/severity.js';
import type { ChecksConfig } from '../../checks/config.js';
import type { ImageChecks } from '../../checks/image.js';
import type { EffectiveUser } from '../../checks/user.js';
import type { ScanRequest } from '../../events/scan-request.js';
import { EXTRACTOR_SET_ID } from '../../extractors/registry.js';
import type { Image, ImageSet } from '../../image/types.js';
import type { Inventory } from '../../inventory/inventory.js';
import type { RepositoryCpeLookup } from '../../inventory/redhat-repositories.js';
import type { LayerCache } from '../../inventory/walk.js';
import type { LayerLimits } from '../../layers/limits.js';
import type { Coverage } from '../../matcher/coverage.js';
import type { InventoryPackage, MatchResult } from '../../matcher/types.js';
import type { ChecksStore } from '../../stores/checks-store.js';
import type { ImageRecord, RepositoryRecord } from '../../stores/image-store.js';
import type { ProvenanceRecord } from '../../stores/provenance-store.js';
import { BOSUN_VERSION } from '../../version.js';
import type { PipelineDeps } from '../context.js';
import type { FindingDraft, GenerationPlan } from '../lifecycle.js';

/** Bosun's release and its extractor set: a scan by another analyzer version is redone. */
export const ANALYZER_VERSION = `${BOSUN_VERSION}+${createHash('sha256').update(EXTRACTOR_SET_ID).digest('hex').slice(0, 12)}`;

export interface ScanDeps extends PipelineDeps {
  /** Reads the image a request names (by digest) from its registry. */
  openImage(request: ScanRequest): Promise<ImageSet>;
  readonly layerCache?: LayerCache;
  readonly layerLimits?: Partial<LayerLimits>;
  /**
   * Red Hat's repository-to-CPE mapping (the advisory store holds it): an RHEL image's content
   * sets name the ecosystems its RPMs are matched against. Without it they are an issue, and the
   * release's BaseOS and AppStream stand in.
   */
  readonly repositoryCpes?: RepositoryCpeLookup;
  /**
   * The subject of a pushed artifact (its manifest's `subject`), when a signature or attestation
   * is pushed by the referrers API rather than under a cosign tag.
   */
  subjectOf?(request: ScanRequest): Promise<string | undefined>;
  /** The hardening checks' lifecycle (scan/commit-checks.ts); absent, checks are only reported. */
  readonly checkStore?: ChecksStore;
  /** Per-repository check settings and secret suppressions (checks/config.ts). */
  readonly checksConfig?: ChecksConfig;
}

export type ScanOutcome =
  | {
      readonly status: 'scanned';
      /** Active findings, and how many of each severity. */
      readonly findings: number;
      readonly bySeverity: Readonly<Partial<Record<Severity, number>>>;
      readonly messages: number;
    }
  | { readonly status: 'unchanged' | 'index' | 'skipped' | 'deleted'; readonly messages: number }
  | {
      readonly status: 'failed' | 'unsupported';
      readonly reason: string;
      readonly messages: number;
    };

/** Which delivery of the request this is: the last one fails the scan rather than retry it. */
export interface ScanAttempt {
  readonly receives: number;
  readonly final: boolean;
}

/** The inventory's scan id: the same image read by the same analyzer always gets the same. */
export function scanIdOf(digest: string, analyzerVersion: string): string {
  return createHash('sha256')
    .update(`${digest}\u0000${analyzerVersion}`)
    .digest('hex')
    .slice(0, 16);
}

/** One scan of one digest, under its lease. Each step reads what earlier steps set. */
export interface ScanRun {
  readonly request: ScanRequest;
  readonly deps: ScanDeps;
  readonly attempt: ScanAttempt;
  readonly digest: string;
  readonly analyzerVersion: string;
  readonly scanId: string;
  readonly now: string;
  /** The image record as this run last read or wrote it. */
  image?: ImageRecord;
  /** Every repository the digest was pushed to (deletions included). */
  repositories?: RepositoryRecord[];
  /** The record an ending without findings writes: the run's mark taken back. */
  ended?: Omit<ImageRecord, 'revision'>;
  target?: Image;
  inventory?: Inventory;
  /** The hardening checks, from the inventory's own walk (shared/checks). */
  checks?: ImageChecks;
  /** The checks as computed, before the configuration (scan/commit-checks.ts configures them). */
  observedChecks?: ImageChecks;
  /** The image's effective default user, as the checks resolved it. */
  imageUser?: EffectiveUser;
  packages?: InventoryPackage[];
  match?: MatchResult;
  coverage?: Coverage;
  drafts?: FindingDraft[];
  plan?: GenerationPlan;
  reportKeys?: { readonly reportKey: string; readonly sbomKey: string };
  /** The provenance verdicts, one per repository, when a policy is configured. */
  provenance?: ProvenanceRecord[];
}

/** A step's result: the scan's outcome when the step ends the run, undefined to go on. */
export type ScanStep = (run: ScanRun) => Promise<ScanOutcome | undefined>;

/** A field an earlier step sets; its absence is a bug in the step list, not bad input. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`scan step order: ${what} is not set yet`);
  return value;
}

/** The generation this run writes: one past the committed one. */
export const generationOf = (run: ScanRun) => (run.image?.findingsGeneration ?? 0) + 1;
