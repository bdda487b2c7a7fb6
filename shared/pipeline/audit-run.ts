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
import {
  checkObservedWorkloads,
  type RunningChecksOutcome,
  type TaskDefinitionChecksDeps,
} from './taskdef-checks.js';

/** What a reconcile pass reads: one source in one region. */
export interface WorkloadReader {
  readonly source: WorkloadSource;
  readonly region: string;
  read(): Promise<Observation[]>;
}

export interface PassOutcome extends AuditOutcome {
  readonly source: WorkloadSource;
  readonly region: string;
  /** ECS passes with task-definition checks: what they checked. */
  readonly checks?: RunningChecksOutcome;
}

/** An observation's outcome, with its task-definition checks when they are configured. */
export interface ObservedOutcome extends AuditOutcome {
  readonly checks?: RunningChecksOutcome;
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

/**
 * An ECS task state change: its containers recorded (running or stopped) and judged; with
 * `checks`, its task definition checked and each container's effective findings reconciled.
 */
export async function observeTaskEvent(
  deps: AuditDeps,
  event: EcsTaskStateChangeEvent,
  checks?: TaskDefinitionChecksDeps,
): Promise<ObservedOutcome> {
  const observed = observationsOfTaskEvent(event);
  const outcome = await observeWorkloads(deps, observed);
  if (checks === undefined) return outcome;
  return { ...outcome, checks: await checkObservedWorkloads(checks, observed, outcome.stopped) };
}

/** Reads each source and region in turn and reconciles the inventory with what it saw. */
export async function reconcileWorkloads(
  deps: AuditDeps,
  readers: readonly WorkloadReader[],
  checks?: TaskDefinitionChecksDeps,
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
      // The inventory is reconciled; a checks failure after it fails the pass all the same, so
      // the schedule's retry runs the checks again.
      const checked =
        checks === undefined || source !== 'ecs'
          ? undefined
          : await checkObservedWorkloads(checks, observed, outcome.stopped);
      passes.push({
        source,
        region,
        ...outcome,
        ...(checked === undefined ? {} : { checks: checked }),
      });
    } catch (error) {
      failures.push({ source, region, error: error as Error });
    }
  }
  return { passes, failures };
}
