/**
 * Runs targets' cases in a child process, so the harness can kill a case that hangs (a parser
 * stuck in a loop never yields to a timer on its own thread) and survive one that aborts the
 * process (V8 aborts, rather than throws, when some allocations fail: a worker thread would
 * take the harness down with it). Before each case the process writes its progress (the
 * case's number in the job, its CPU time so far) to a small file the harness's watchdog reads:
 * a file and not a message, because a starved harness reads messages late and would time a
 * case from a stale one. The process serves jobs until it is told to exit.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

import { classify, loadSeeds, targetNamed } from './classify.js';
import { buildCase, type CasePlan, caseAt } from './mutators.js';
import { PROGRESS_FIELDS, type WorkerJob, type WorkerMessage } from './protocol.js';
import type { Seed } from './seeds.js';

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
  const deadline = performance.now() + (job.maxMs ?? Number.POSITIVE_INFINITY);
  let cases = 0;
  let slowestMs = 0;
  const progress = new Float64Array(PROGRESS_FIELDS);
  const fd = openSync(job.progressFile, 'w');
  const one = async (id: string, input: Buffer, origin: string) => {
    const cpu = process.cpuUsage();
    progress[0] = cases + 1;
    progress[1] = cpu.user + cpu.system;
    progress[2] = slowestMs;
    writeSync(fd, progress, 0, progress.byteLength, 0);
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
    if (performance.now() > deadline) break;
    const plan = caseAt(seeds.length, job.runSeed, i);
    await one(`case ${i}`, buildCase(plan, bytes), originOf(plan, seeds));
  }
  closeSync(fd);
  send({ type: 'end', cases, slowestMs });
}

if (process.send === undefined) throw new Error('fuzz/worker.ts runs as a child process with IPC');
process.on('message', (job: WorkerJob | 'exit') => {
  if (job === 'exit') process.exit(0);
  else void runJob(job);
});
