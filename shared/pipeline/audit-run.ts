/**
 * One invocation of the audit function (docs/audit.md, "Workload inventory"): an ECS task state
 * change is recorded and judged at once; the reconcile schedule reads every source in every
 * region (ECS, Lambda, EKS) and removes from the inventory what a source no longer runs.
 *
 * Each source and region is its own pass: it starts its clock before it reads, and only a read
 * that completed removes anything (a pass that failed half-way would otherwise stop every
 * workload it had not reached yet). A failed pass is reported after the others ran; the next
 * schedule reads it again.
 */
import { BosunError } from '../errors.js';
import type { EcsTaskStateChangeEvent } from '../events/ecs-task.js';
import { observationsOfTaskEvent } from '../workloads/ecs.js';
import type { Observation, WorkloadSource } from '../workloads/types.js';
import { type AuditDeps, type AuditOutcome, observeWorkloads } from './audit.js';
import { nowOf } from './context.js';

/** What a reconcile pass reads: one source in one region. */
export interface WorkloadReader {
  readonly source: WorkloadSource;
  readonly region: string;
  read(): Promise<Observation[]>;
}

export interface PassOutcome extends AuditOutcome {
  readonly source: WorkloadSource;
  readonly region: string;
}

export interface PassFailure {
  readonly source: WorkloadSource;
  readonly region: string;
  readonly error: Error;
}

export interface ReconcileOutcome {
  readonly passes: readonly PassOutcome[];
  readonly failures: readonly PassFailure[];
}

/** Some sources could not be read; the others were reconciled. The next schedule tries again. */
export class ReconcileIncompleteError extends BosunError {
  readonly fatal = false;
}

/** An ECS task state change: its containers recorded (running or stopped) and judged. */
export function observeTaskEvent(
  deps: AuditDeps,
  event: EcsTaskStateChangeEvent,
): Promise<AuditOutcome> {
  return observeWorkloads(deps, observationsOfTaskEvent(event));
}

/** Reads each source and region in turn and reconciles the inventory with what it saw. */
export async function reconcileWorkloads(
  deps: AuditDeps,
  readers: readonly WorkloadReader[],
): Promise<ReconcileOutcome> {
  const passes: PassOutcome[] = [];
  const failures: PassFailure[] = [];
  for (const reader of readers) {
    const { source, region } = reader;
    // Before the read: everything it sees is last seen after this, anything older was not seen.
    const startedAt = nowOf(deps).toISOString();
    try {
      const observed = await reader.read();
      const outcome = await observeWorkloads(deps, observed, {
        reconcile: { source, startedAt, region },
      });
      passes.push({ source, region, ...outcome });
    } catch (error) {
      failures.push({ source, region, error: error as Error });
    }
  }
  return { passes, failures };
}
