/**
 * Runs fuzz targets in a child process (fuzz/worker.ts) watched from this one. A case that runs
 * past its CPU budget is a hang and one that takes the process down (out of memory, an abort,
 * an error thrown outside the case's promise) is a death: either way the process is killed and
 * a new one goes on from the next case. Every target first replays its saved regression inputs
 * (test/fixtures/fuzz/<target>/<case>/input), then runs its generated cases.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadSeeds, targetNamed } from './classify.js';
import { buildCase, caseAt } from './mutators.js';
import { PROGRESS_FIELDS, type WorkerJob, type WorkerMessage } from './protocol.js';
import { PROJECT_ROOT } from './seeds.js';

export const FIXTURES_DIR = path.join(PROJECT_ROOT, 'test/fixtures/fuzz');
/** Past this a case is a hang; real inputs of these sizes parse in milliseconds. */
export const DEFAULT_BUDGET_MS = 10_000;
/**
 * A case is a hang once it has used its budget of CPU time; wall time alone is no proof on a
 * shared machine (a niced run waits for the CPU). Past this many budgets of wall time it is a
 * hang whatever its CPU time, and wherever CPU time cannot be read.
 */
const WALL_BUDGETS = 20;
/** A case process past this heap dies: a finding, not a crash of the harness. */
const WORKER_HEAP_MB = 1536;

export type FindingKind = 'exception' | 'invariant' | 'hang' | 'process-died';

export interface FindingGroup {
  /** Kind, error class and the innermost frame: one bug, however many cases hit it. */
  readonly signature: string;
  readonly kind: FindingKind;
  readonly error: string;
  readonly stack: string;
  count: number;
  /** The case ids that hit it (the first few). */
  readonly ids: string[];
  /** The smallest input that hit it, and how it was made. */
  input: Buffer;
  origin: string;
  /** Where it was saved as a regression fixture, when saving. */
  saved?: string;
}

export interface TargetReport {
  readonly target: string;
  readonly module: string;
  readonly seeds: number;
  readonly replayed: number;
  readonly generated: number;
  readonly findings: FindingGroup[];
  readonly seconds: number;
  readonly slowestMs: number;
}

export interface RunOptions {
  readonly runSeed: number;
  readonly cases: number;
  readonly budgetMs?: number;
  /** Save each new finding's smallest input under FIXTURES_DIR (the CLI does; CI does not). */
  readonly save?: boolean;
  /** Command line that reproduces the run, written into a saved fixture's README. */
  readonly command?: string;
  readonly onProgress?: (done: number) => void;
  /** Stop generating cases after this long (the report says how many ran). */
  readonly maxSeconds?: number;
}

const requireHere = createRequire(import.meta.url);
// tsx's loader (its package's `import` entry), so the child runs the TypeScript worker as is.
const TSX_LOADER = pathToFileURL(
  path.join(path.dirname(requireHere.resolve('tsx/package.json')), 'dist/loader.mjs'),
).href;
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

interface Outcome {
  readonly stopped: 'end' | 'hang' | 'died';
  readonly error?: string;
  /** Cases of the job that started, the one that hung or died among them. */
  readonly started: number;
  readonly slowestMs: number;
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * A process's CPU time (user + system, µs) from /proc/<pid>/stat (fields 14 and 15, in clock
 * ticks: https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html); undefined off Linux.
 * Linux reports in USER_HZ, 100 on every architecture Node runs on.
 */
function cpuMicrosOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1_000_000) / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** What the watchdog last read of a job's progress file. */
function readProgress(file: string): { started: number; cpuMicros: number; slowestMs: number } {
  const values = new Float64Array(PROGRESS_FIELDS);
  try {
    const fd = openSync(file, 'r');
    try {
      readSync(fd, values, 0, values.byteLength, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not written yet: no case has started.
  }
  return { started: values[0] ?? 0, cpuMicros: values[1] ?? 0, slowestMs: values[2] ?? 0 };
}

/** The child process that runs cases; replaced when a case hangs it or takes it down. */
export class CaseRunner {
  private child: ChildProcess | undefined;
  private dir: string | undefined;
  private jobs = 0;

  private spawn(): ChildProcess {
    const child = fork(WORKER, [], {
      execArgv: ['--import', TSX_LOADER, `--max-old-space-size=${WORKER_HEAP_MB}`],
      serialization: 'advanced',
      // A parser's stray console output is not the harness's.
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    this.child = child;
    return child;
  }

  /**
   * Runs a job. `started` counts the job's cases that began (the one that hung or died among
   * them); past `deadline` (epoch ms) the process starts no further generated case.
   */
  run(
    job: Omit<WorkerJob, 'progressFile'>,
    budgetMs: number,
    onMessage: (m: WorkerMessage) => void,
    onProgress?: (started: number) => void,
  ): Promise<Outcome> {
    this.dir ??= mkdtempSync(path.join(tmpdir(), 'bosun-fuzz-progress-'));
    const progressFile = path.join(this.dir, `job-${++this.jobs}`);
    const child = this.child ?? this.spawn();
    return new Promise((resolve) => {
      const loadingSince = performance.now();
      let seen = 0;
      let since = performance.now();
      let ready = false;
      let settled = false;
      const finish = (r: Omit<Outcome, 'started' | 'slowestMs'>) => {
        if (settled) return;
        settled = true;
        clearInterval(timer);
        child.off('exit', exit);
        const p = readProgress(progressFile);
        const outcome = { ...r, started: p.started, slowestMs: p.slowestMs };
        if (r.stopped === 'end') {
          child.off('message', message);
          rmSync(progressFile, { force: true });
          resolve(outcome);
          return;
        }
        // Messages the process sent before it was killed are still delivered: wait for them.
        child.once('close', () => {
          child.off('message', message);
          rmSync(progressFile, { force: true });
          resolve(outcome);
        });
        child.kill('SIGKILL');
        this.child = undefined;
      };
      const timer = setInterval(
        () => {
          if (!ready && performance.now() - loadingSince > 300_000)
            finish({ stopped: 'died', error: 'seeds did not load within 300 s' });
          const p = readProgress(progressFile);
          if (p.started !== seen) {
            seen = p.started;
            since = performance.now();
            onProgress?.(seen);
            return;
          }
          const wall = performance.now() - since;
          if (seen === 0 || wall <= budgetMs) return;
          const cpu = cpuMicrosOf(child.pid);
          const cpuMs = cpu === undefined ? wall : (cpu - p.cpuMicros) / 1000;
          if (cpuMs > budgetMs || wall > budgetMs * WALL_BUDGETS) finish({ stopped: 'hang' });
        },
        Math.min(250, budgetMs / 4),
      );
      const message = (m: WorkerMessage) => {
        if (m.type === 'ready') ready = true;
        onMessage(m);
        if (m.type === 'end') finish({ stopped: 'end' });
      };
      const exit = (code: number | null, signal: string | null) =>
        finish({
          stopped: 'died',
          error: `the process running the case exited (${signal ?? `code ${code}`})`,
        });
      child.on('message', message);
      child.on('exit', exit);
      child.send({ ...job, progressFile } satisfies WorkerJob);
    });
  }

  close(): void {
    this.child?.send('exit');
    this.child = undefined;
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The regression inputs saved for a target. */
export function fixturesOf(target: string): { id: string; bytes: Buffer }[] {
  const dir = path.join(FIXTURES_DIR, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'input')))
    .map((d) => d.name)
    .sort()
    .map((name) => ({
      id: `fixture ${name}`,
      bytes: readFileSync(path.join(dir, name, 'input')),
    }));
}

function signatureOf(kind: FindingKind, error: string, stack: string): string {
  const cls = error.split(':')[0] ?? error;
  const frames = stack
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('at '));
  // The innermost frame in Bosun's own code names the bug; a library's or Node's frame
  // (node:internal/buffer) names only where it surfaced.
  const frame = frames.find((l) => l.includes('/shared/')) ?? frames[0] ?? '';
  // Only the file and line: the column and the message carry the input's offsets.
  const where = frame.replace(/^at .*?\(?((?:file:\/\/)?[^()]*?):(\d+):\d+\)?$/, '$1:$2');
  return `${kind} ${cls} ${path.relative(PROJECT_ROOT, where.replace('file://', ''))}`.trim();
}

interface Segment {
  readonly from: number;
  readonly to: number;
  readonly replay: readonly { id: string; bytes: Buffer }[];
}

/** Fuzzes one target; never throws for what the target does, only for a broken setup. */
export async function fuzzTarget(
  name: string,
  options: RunOptions,
  runner: CaseRunner = new CaseRunner(),
): Promise<TargetReport> {
  const target = targetNamed(name);
  const budgetMs = options.budgetMs ?? target.budgetMs ?? DEFAULT_BUDGET_MS;
  const started = performance.now();
  const replay = fixturesOf(name);
  const groups = new Map<string, FindingGroup>();
  let slowestMs = 0;
  let seedCount = 0;
  let replayed = 0;
  let generated = 0;
  // Rebuilding a case's input in this thread (after a hang or death) needs its seeds and plan.
  let local: Buffer[] | undefined;
  const inputOf = async (id: string): Promise<Buffer> => {
    const fixture = replay.find((r) => r.id === id);
    if (fixture !== undefined) return fixture.bytes;
    local ??= (await loadSeeds(target)).map((s) => s.bytes);
    const index = Number(id.replace('case ', ''));
    return buildCase(caseAt(local.length, options.runSeed, index), local);
  };
  const record = (
    kind: FindingKind,
    id: string,
    error: string,
    stack: string,
    input: Buffer,
    origin: string,
  ) => {
    const signature = signatureOf(kind, error, stack);
    const g = groups.get(signature);
    if (g === undefined) {
      groups.set(signature, { signature, kind, error, stack, count: 1, ids: [id], input, origin });
      return;
    }
    g.count++;
    if (g.ids.length < 5) g.ids.push(id);
    if (input.length < g.input.length) {
      g.input = input;
      g.origin = origin;
    }
  };

  // Time spent on cases (seeds loaded) so far, against --max-seconds.
  let spentMs = 0;
  let segment: Segment = { from: 0, to: options.cases, replay };
  for (;;) {
    let readyAt = performance.now();
    const outcome = await runner.run(
      {
        target: name,
        runSeed: options.runSeed,
        from: segment.from,
        to: segment.to,
        replay: segment.replay.map((r) => ({ id: r.id, bytes: new Uint8Array(r.bytes) })),
        ...(options.maxSeconds === undefined
          ? {}
          : { maxMs: Math.max(0, options.maxSeconds * 1000 - spentMs) }),
      },
      budgetMs,
      (m) => {
        if (m.type === 'ready') {
          seedCount = m.seeds;
          readyAt = performance.now();
        } else if (m.type === 'fail')
          record(m.kind, m.id, m.error, m.stack, Buffer.from(m.input), `${m.id}: ${m.origin}`);
      },
      (n) => options.onProgress?.(generated + Math.max(0, n - segment.replay.length)),
    );
    spentMs += performance.now() - readyAt;
    slowestMs = Math.max(slowestMs, outcome.slowestMs);
    // The job's cases in order: its replayed inputs, then generated cases from `from`.
    const replayedNow = Math.min(outcome.started, segment.replay.length);
    replayed += replayedNow;
    generated += outcome.started - replayedNow;
    if (outcome.stopped === 'end') break;
    if (outcome.started === 0) {
      // The process died before any case: a broken setup, not a finding.
      throw new Error(`fuzz target ${name}: failed before its first case: ${outcome.error}`);
    }
    const k = outcome.started - 1;
    const at = segment.replay[k]?.id ?? `case ${segment.from + k - segment.replay.length}`;
    const kind: FindingKind = outcome.stopped === 'hang' ? 'hang' : 'process-died';
    const error =
      outcome.stopped === 'hang'
        ? `no result within ${budgetMs} ms of CPU time`
        : (outcome.error ?? 'the process died');
    record(kind, at, error, '', await inputOf(at), `${at} (rebuild it with fuzz/case.ts)`);
    // Go on after the case that stopped the process.
    segment =
      k < segment.replay.length
        ? { from: segment.from, to: segment.to, replay: segment.replay.slice(k + 1) }
        : { from: segment.from + k - segment.replay.length + 1, to: segment.to, replay: [] };
    if (segment.from >= segment.to && segment.replay.length === 0) break;
  }

  const findings = [...groups.values()];
  if (options.save === true)
    for (const f of findings) f.saved = saveFixture(name, f, options) ?? undefined;
  return {
    target: name,
    module: target.module,
    seeds: seedCount,
    replayed,
    generated,
    findings,
    seconds: (performance.now() - started) / 1000,
    slowestMs,
  };
}

/** Saves a finding's input as test/fixtures/fuzz/<target>/<kind>-<hash>/ unless already saved. */
function saveFixture(target: string, f: FindingGroup, options: RunOptions): string | undefined {
  const existing = fixturesOf(target).find((x) => x.bytes.equals(f.input));
  if (existing !== undefined) return undefined;
  const hash = createHash('sha256').update(f.input).digest('hex').slice(0, 12);
  const dir = path.join(FIXTURES_DIR, target, `${f.kind}-${hash}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'input'), f.input);
  const firstFrame = f.stack
    .split('\n')
    .slice(0, 3)
    .map((l) =>
      l.trim().replaceAll(`file://${PROJECT_ROOT}/`, '').replaceAll(`${PROJECT_ROOT}/`, ''),
    )
    .join(' / ');
  writeFileSync(
    path.join(dir, 'README.md'),
    `Made by \`${options.command ?? 'npm run fuzz'}\` on ${new Date().toISOString().slice(0, 10)}: ` +
      `the smallest of ${f.count} cases with this signature, ${f.origin}. ` +
      `${f.kind}: ${f.error}${firstFrame === '' ? '' : ` (${firstFrame})`}\n`,
  );
  return path.relative(PROJECT_ROOT, dir);
}
