/**
 * bench:cost's tables: the measurements per scenario (medians of the runs), the billed
 * duration and GB-s per memory size (bench/cost-model.ts), and dollars per scan, per rescan and
 * for an example month, at the list prices of cost-model.ts.
 */
import type { Cores, Invocation, Results } from './cost.js';
import {
  type Bill,
  bill,
  estimatedMs,
  gbSeconds,
  PRICES,
  type Requests,
  type Timing,
} from './cost-model.js';
import type { Usage } from './cost-worker.js';
import { median } from './stats.js';

/** Memory sizes the construct allows for the scan (512-10,240 MB) worth a row. */
const MEMORY_SIZES = [512, 1024, 1536, 1769, 2048, 3008, 3538, 10240];
/**
 * SQS requests around one invocation that the handler does not make: the message's send
 * (EventBridge, or the feed sync's batch) and the event source mapping's receive and delete.
 */
const SQS_AROUND_INVOCATION = 3;
/** The example month of docs/cost.md. */
const MONTH = { days: 30, pushesPerDay: 1000, trackedImages: 20_000, changedShareDaily: 0.05 };

type Flat = Record<string, number>;

function flatten(u: Usage): Flat {
  const out: Flat = {
    readUnits: u.readUnits,
    writeUnits: u.writeUnits,
    readUnitsBilled: u.readUnitsBilled,
    writeUnitsBilled: u.writeUnitsBilled,
    conditionalFailures: u.conditionalFailures,
    snsPublishes: u.snsPublishes,
    snsChunks: u.snsChunks,
    snsBytes: u.snsBytes,
    sqsChunks: u.sqsChunks,
    logBytes: u.logBytes,
  };
  for (const [k, v] of Object.entries(u.requests)) out[`req:${k}`] = v;
  for (const [k, v] of Object.entries(u.errors)) out[`err:${k}`] = v;
  for (const [k, v] of Object.entries(u.s3PutBytes)) out[`put:${k}`] = v;
  for (const [k, v] of Object.entries(u.unitsByOperation)) out[`units:${k}`] = v;
  return out;
}

/** Each count's median over the runs (a count a run lacks is 0 in it). */
function medianFlat(usages: Usage[]): Flat {
  const flats = usages.map(flatten);
  const keys = new Set(flats.flatMap((f) => Object.keys(f)));
  return Object.fromEntries([...keys].map((k) => [k, median(flats.map((f) => f[k] ?? 0))]));
}

const sumOf = (f: Flat, prefix: string) =>
  Object.entries(f)
    .filter(([k]) => k.startsWith(prefix))
    .reduce((n, [, v]) => n + v, 0);

interface Scenario {
  readonly name: string;
  readonly images: number;
  readonly runs: number;
  readonly one: Timing;
  readonly two: Timing;
  readonly usage: Flat;
  readonly notifications: string;
  /** The process's peak RSS after the scenario's first invocation in it (the largest). */
  readonly peakRssKb: number;
}

function scenarios(invocations: Invocation[]): Scenario[] {
  const names = [...new Set(invocations.map((i) => i.scenario))];
  return names.map((name) => {
    const of = (cores: Cores) =>
      invocations.filter((i) => i.scenario === name && i.cores === cores);
    const timing = (xs: Invocation[]): Timing => ({
      wallMs: median(xs.map((x) => x.wallMs)),
      cpuMs: median(xs.map((x) => x.cpuMs)),
    });
    const all = invocations.filter((i) => i.scenario === name);
    const last = all.at(-1) as Invocation;
    const firstOf = (cores: Cores) => of(cores)[0]?.peakRssKb ?? 0;
    return {
      name,
      images: last.images,
      runs: of(2).length,
      one: timing(of(1)),
      two: timing(of(2)),
      usage: medianFlat(all.map((i) => i.usage)),
      peakRssKb: Math.max(firstOf(1), firstOf(2)),
      notifications: Object.entries(last.notifications)
        .map(([k, v]) => `${v} ${k}`)
        .join(', '),
    };
  });
}

/** Billing classes of one invocation's usage, SQS around it included. */
function requestsOf(u: Flat): Requests {
  const s3 = (op: string) => u[`req:s3:${op}`] ?? 0;
  const s3All = sumOf(u, 'req:s3:');
  const gets = s3('GetObject') + s3('HeadObject');
  return {
    // With DynamoDB's minimum a request (bench/cost-worker.ts), refused conditional writes too.
    dynamoRead: u.readUnitsBilled ?? 0,
    dynamoWrite: u.writeUnitsBilled ?? 0,
    s3PutOrList: s3All - gets,
    s3GetOrHead: gets,
    snsChunks: u.snsChunks ?? 0,
    sqs: sumOf(u, 'req:sqs:') + SQS_AROUND_INVOCATION,
  };
}

const ms = (x: number) => `${Math.round(x).toLocaleString('en-US')} ms`;
const usd = (x: number) => (x >= 0.01 ? `$${x.toFixed(2)}` : `$${x.toPrecision(3)}`);
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

function measurementsTable(list: Scenario[], log: (line: string) => void): void {
  log('\nPer invocation, medians (1 core: pinned; 2 cores: free):');
  log(
    row([
      'scenario',
      'runs',
      '1 core wall / CPU',
      '2 cores wall / CPU',
      'DynamoDB requests: RRU / WRU (local; billed)',
      'S3 GET / HEAD / PUT / LIST',
      'SNS publishes (chunks)',
      'SQS (handler)',
      'logs',
      'peak RSS',
      'notifications (last run)',
    ]),
  );
  for (const s of list) {
    const u = s.usage;
    log(
      row([
        s.name,
        s.runs,
        `${ms(s.one.wallMs)} / ${ms(s.one.cpuMs)}`,
        `${ms(s.two.wallMs)} / ${ms(s.two.cpuMs)}`,
        `${sumOf(u, 'req:dynamodb:')}: ${u.readUnits ?? 0} / ${u.writeUnits ?? 0}; ${u.readUnitsBilled ?? 0} / ${u.writeUnitsBilled ?? 0}${u.conditionalFailures ? ` (${u.conditionalFailures} refused)` : ''}`,
        ['GetObject', 'HeadObject', 'PutObject', 'ListObjectsV2']
          .map((op) => u[`req:s3:${op}`] ?? 0)
          .join(' / '),
        `${u.snsPublishes ?? 0} (${u.snsChunks ?? 0})`,
        sumOf(u, 'req:sqs:'),
        kb(u.logBytes ?? 0),
        `${(s.peakRssKb / 1024).toFixed(0)} MB`,
        s.notifications,
      ]),
    );
  }
  log('\nRequests by operation (medians):');
  for (const s of list)
    log(
      `  ${s.name}: ${Object.entries(s.usage)
        .filter(([k]) => /^(req|err|put|units):/.test(k))
        .map(([k, v]) => `${k.replace(/^req:/, '')} ${v}`)
        .join(', ')}`,
    );
}

function memoryTable(list: Scenario[], log: (line: string) => void): void {
  log('\nEstimated billed duration and GB-s per memory size (bench/cost-model.ts):');
  log(row(['scenario', ...MEMORY_SIZES.map((m) => `${m} MB`)]));
  for (const s of list)
    log(
      row([
        s.name,
        ...MEMORY_SIZES.map((m) => {
          const billed = estimatedMs(m, s.one, s.two);
          return `${ms(billed)}, ${gbSeconds(billed, m).toFixed(2)} GB-s`;
        }),
      ]),
    );
}

function billOf(s: Scenario, memoryMb: number): Bill {
  return bill(
    estimatedMs(memoryMb, s.one, s.two),
    memoryMb,
    1,
    requestsOf(s.usage),
    s.usage.logBytes ?? 0,
  );
}

function dollarsTable(list: Scenario[], log: (line: string) => void): void {
  log('\nDollars per invocation, arm64, us-east-1 list prices (scan 2,048 MB; rescan 1,024 MB):');
  log(
    row([
      'scenario',
      'Lambda',
      '(on x86)',
      'DynamoDB',
      'S3',
      'SNS',
      'SQS',
      'logs',
      'total',
      'per image',
    ]),
  );
  for (const s of list) {
    const memory = s.name.startsWith('scan') ? 2048 : 1024;
    const b = billOf(s, memory);
    const x86 =
      gbSeconds(estimatedMs(memory, s.one, s.two), memory) * PRICES.lambdaX86GbSecond +
      PRICES.lambdaRequest;
    log(
      row([
        s.name,
        usd(b.lambda),
        usd(x86),
        ...[b.dynamodb, b.s3, b.sns, b.sqs, b.logs, b.total].map(usd),
        usd(b.total / s.images),
      ]),
    );
  }
  log('\nTotal per invocation (arm64) by memory size:');
  log(row(['scenario', ...MEMORY_SIZES.map((m) => `${m} MB`)]));
  for (const s of list) log(row([s.name, ...MEMORY_SIZES.map((m) => usd(billOf(s, m).total))]));
}

function monthTable(
  list: Scenario[],
  init: { one: Timing; two: Timing },
  log: (line: string) => void,
): void {
  const find = (prefix: string) => list.find((s) => s.name.startsWith(prefix));
  const warm = find('scan: demo image, layers cached');
  const cold = find('scan: demo image, empty layer cache');
  const first = find('scan: demo image, first invocation');
  const many = list.filter((s) => s.name.startsWith('rescan:') && s.images > 1);
  if (warm === undefined || cold === undefined || many.length === 0) return;
  const scans = MONTH.days * MONTH.pushesPerDay;
  const rescans = MONTH.days * MONTH.trackedImages * MONTH.changedShareDaily;
  const rescanPerImage = median(many.map((s) => billOf(s, 1024).total / s.images));
  log(
    `\nExample month: ${scans.toLocaleString('en-US')} scans, ${rescans.toLocaleString('en-US')} image rescans (${MONTH.trackedImages.toLocaleString('en-US')} tracked images, ${MONTH.changedShareDaily * 100}% a day):`,
  );
  for (const memory of [1024, 1769, 2048]) {
    const scanWarm = billOf(warm, memory).total * scans;
    const scanCold = billOf(cold, memory).total * scans;
    log(
      `  scan at ${memory} MB: ${usd(scanWarm)} (layers cached) to ${usd(scanCold)} (none cached); rescans at 1,024 MB ${usd(rescanPerImage * rescans)}`,
    );
  }
  if (first !== undefined)
    for (const memory of [1024, 1769, 2048]) {
      // Lambda bills the INIT phase since 1 August 2025: importing the handler, here.
      const initMs = estimatedMs(memory, init.one, init.two);
      const each =
        billOf(first, memory).total + gbSeconds(initMs, memory) * PRICES.lambdaArmGbSecond;
      log(
        `  if every scan at ${memory} MB started a new execution environment (init ${ms(initMs)} + a first invocation): ${usd(each * scans)}`,
      );
    }
  log(
    `  Amazon Inspector: ${usd(scans * PRICES.inspectorInitialScan)} initial scans + ${usd(rescans * PRICES.inspectorRescan)} rescans`,
  );
}

export function report(results: Results, log: (line: string) => void): void {
  const list = scenarios(results.invocations);
  measurementsTable(list, log);
  log('\nProcesses (init = importing the handler):');
  for (const p of results.processes)
    log(
      `  ${p.fn}, ${p.cores} core(s): init ${ms(p.initMs)} (CPU ${ms(p.initCpuMs)}), RSS after init ${(p.initRssKb / 1024).toFixed(0)} MB, peak ${(p.peakRssKb / 1024).toFixed(0)} MB`,
    );
  for (const [fn, r] of Object.entries(results.importRssKb))
    log(
      `  ${fn}: peak RSS importing the deployed bundle ${(r.deployed / 1024).toFixed(0)} MB, the measured one (SDK from node_modules) ${(r.sdkExternal / 1024).toFixed(0)} MB`,
    );
  log(`  tables: about ${kb(results.tableBytesPerImage)} of items per scanned image`);
  memoryTable(list, log);
  dollarsTable(list, log);
  const inits = (cores: Cores): Timing => {
    const of = results.processes.filter((p) => p.fn === 'scan' && p.cores === cores);
    return { wallMs: median(of.map((p) => p.initMs)), cpuMs: median(of.map((p) => p.initCpuMs)) };
  };
  monthTable(list, { one: inits(1), two: inits(2) }, log);
}
