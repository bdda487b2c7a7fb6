/**
 * Runs targets' cases in a child process, so the harness can kill a case that hangs (a parser
 * stuck in a loop never yields to a timer on its own thread) and survive one that aborts the
 * process (V8 aborts, rather than throws, when some allocations fail: a worker thread would
 * take the harness down with it). Each case is announced before it runs; the harness's
 * watchdog measures from that message. The process serves jobs until it is told to exit.
 */

import { classify, loadSeeds, targetNamed } from './classify.js';
import { buildCase, type CasePlan, casePlans } from './mutators.js';
import type { Seed } from './seeds.js';

export interface WorkerJob {
  readonly target: string;
  readonly runSeed: number;
  readonly from: number;
  readonly to: number;
  /** Regression inputs to run before the generated cases. */
  readonly replay: readonly { readonly id: string; readonly bytes: Uint8Array }[];
}

export type WorkerMessage =
  | { readonly type: 'ready'; readonly seeds: number }
  | {
      readonly type: 'start';
      readonly id: string;
      /** This process's CPU time so far (user + system, µs), for the watchdog. */
      readonly cpuMicros: number;
    }
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

const send = (m: WorkerMessage) => {
  process.send?.(m);
};

/** The seed file and the mutations of a case, for a saved fixture's README. */
function originOf(plan: CasePlan, seeds: readonly Seed[]): string {
  const mutations = JSON.stringify(plan.mutations);
  return `seed ${seeds[plan.seed]?.name}, mutations ${mutations.length > 800 ? `${mutations.slice(0, 800)}…` : mutations}`;
}

const loaded = new Map<string, Seed[]>();

async function runJob(job: WorkerJob): Promise<void> {
  const target = targetNamed(job.target);
  const seeds = loaded.get(target.name) ?? (await loadSeeds(target));
  loaded.set(target.name, seeds);
  send({ type: 'ready', seeds: seeds.length });
  const plans = job.to > job.from ? casePlans(seeds.length, job.runSeed, job.to) : [];
  let cases = 0;
  let slowestMs = 0;
  const one = async (id: string, input: Buffer, origin: string) => {
    const cpu = process.cpuUsage();
    send({ type: 'start', id, cpuMicros: cpu.user + cpu.system });
    const t0 = performance.now();
    const outcome = await classify(target, input);
    const ms = performance.now() - t0;
    slowestMs = Math.max(slowestMs, ms);
    cases++;
    if (outcome !== undefined) send({ type: 'fail', id, ...outcome, input, origin, ms });
  };
  for (const r of job.replay) await one(r.id, Buffer.from(r.bytes), r.id);
  const bytes = seeds.map((s) => s.bytes);
  for (let i = job.from; i < job.to; i++) {
    const plan = plans[i];
    if (plan !== undefined) await one(`case ${i}`, buildCase(plan, bytes), originOf(plan, seeds));
  }
  send({ type: 'end', cases, slowestMs });
}

if (process.send === undefined) throw new Error('fuzz/worker.ts runs as a child process with IPC');
process.on('message', (job: WorkerJob | 'exit') => {
  if (job === 'exit') process.exit(0);
  else void runJob(job);
});
