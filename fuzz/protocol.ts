/**
 * What the harness and its case process (fuzz/worker.ts) say to each other. Kept apart from the
 * worker, whose module listens for jobs as soon as it is loaded.
 */

export interface WorkerJob {
  readonly target: string;
  readonly runSeed: number;
  readonly from: number;
  readonly to: number;
  /** Regression inputs to run before the generated cases. */
  readonly replay: readonly { readonly id: string; readonly bytes: Uint8Array }[];
  /** Where to write progress: PROGRESS_FIELDS float64 values (see PROGRESS_FIELDS). */
  readonly progressFile: string;
  /** Once its seeds are loaded, the process starts no generated case after this long. */
  readonly maxMs?: number;
}

/**
 * The progress record: [number of cases started in this job, this process's CPU time (user +
 * system, µs) when the last one started, the slowest case so far in ms].
 */
export const PROGRESS_FIELDS = 3;

export type WorkerMessage =
  | { readonly type: 'ready'; readonly seeds: number }
  | {
      readonly type: 'fail';
      readonly id: string;
      readonly kind: 'exception' | 'invariant';
      readonly error: string;
      readonly stack: string;
      readonly input: Uint8Array;
      /** The seed file and the mutations that made the input. */
      readonly origin: string;
      readonly ms: number;
    }
  | { readonly type: 'end'; readonly cases: number; readonly slowestMs: number };
