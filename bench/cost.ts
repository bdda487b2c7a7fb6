/**
 * npm run bench:cost — what one scan and one rescan ask of AWS, measured on the local stack
 * (issue 18, item 5; docs/cost.md turns it into dollars).
 *
 * The scan and rescan handlers are bundled with the deployed esbuild settings (the AWS SDK left
 * out, to be counted) and run in a process of their own each, as in a Lambda execution
 * environment (bench/cost-worker.ts), against isolated deployments of the local stack
 * (DynamoDB Local, fauxqs for SQS, SNS and S3, the local registry). Per invocation: wall and
 * CPU time, the process's peak RSS, DynamoDB read and write units (ReturnConsumedCapacity
 * 'TOTAL'), S3 requests by kind, SNS publishes and their 64 KB chunks, SQS requests, and log
 * bytes. Each measurement runs twice: the worker pinned to one core (what Lambda gives at
 * 1,769 MB), then free on the machine's two; bench/cost-model.ts turns the two into a billed
 * duration per memory size.
 *
 * Scans, each run: the demo's Debian image (minbase + a real npm lockfile; the Node.js
 * security WG's advisories) with an empty layer cache, then a second image with the same
 * layers (a new config) with them cached; an Alpine 3.4 image of real package data against
 * Alpine's 3.4 secdb (57 findings); and the benchmarks' large Debian image (bookworm with 11
 * packages, 730 MB of root filesystem, its Debian packages unchecked as in the demo), for time
 * and memory. Rescans: NSWG-ECO-392 withdrawn and restored in turn, re-matching one scanned
 * image, and every demo image the scans left (1 + 2 x BENCH_RUNS).
 *
 * BENCH_RUNS (default 5) measured runs of each, after one first invocation per process;
 * BENCH_CPU (default 1) the core the one-core runs are pinned to. `-- --report` prints the
 * tables again from the last run's .local/bench/cost/results.json.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { build } from 'esbuild';
import { BENCH_IMAGE, debianImage } from '../scripts/debian-image.js';
import { DATA_DIR, DEMO_ADVISORY, DEMO_IMAGE, NPM_ADVISORIES } from '../scripts/demo-data.js';
import { handlerBuildOptions } from '../scripts/lambda-bundle.js';
import { syncLocalFeed } from '../scripts/local/feed.js';
import { createIsolatedDeployment, type IsolatedDeployment } from '../scripts/local/isolated.js';
import { receiveNotifications } from '../scripts/local/notifications.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, PROJECT_ROOT } from '../scripts/local/services.js';
import { down, functionEnv, type LocalStackState, up } from '../scripts/local/stack.js';
import { loadAdvisories } from '../shared/advisories/load.js';
import { scanRequestBody } from '../shared/events/scan-request.js';
import { LAYER_CACHE_PREFIX } from '../shared/stores/s3.js';
import { report } from './cost-report.js';
import type { ParentMessage, Usage, WorkerMessage } from './cost-worker.js';
import { median } from './stats.js';

const WORK = path.join(PROJECT_ROOT, '.local', 'bench', 'cost');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CPU = process.env.BENCH_CPU ?? '1';
/** The memory the functions are invoked with (the scan's default; the rescan's is fixed). */
const MEMORY = { scan: 2048, rescan: 1024 } as const;
// An Alpine 3.4 root filesystem of real files: its os-release (claircore's test data) and an
// installed-packages database (trivy's), 15 packages with 57 findings in Alpine's 3.4 secdb.
const ALPINE_FILES = {
  'etc/os-release': path.join(DATA_DIR, 'pkgdbs/claircore/alpine/testdata/3.4/etc/os-release'),
  'lib/apk/db/installed': path.join(
    DATA_DIR,
    'pkgdbs/trivy/pkg/fanal/analyzer/pkg/apk/testdata/apk',
  ),
};
const ALPINE_SECDB = path.join(DATA_DIR, 'advisories/alpine-secdb-legacy/v3.4');

type Fn = 'scan' | 'rescan';
export type Cores = 1 | 2;

/** One invocation as measured. */
export interface Invocation {
  readonly scenario: string;
  readonly cores: Cores;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly usage: Usage;
  /** Images the invocation scanned or re-matched. */
  readonly images: number;
  /** The process's peak RSS so far (it only grows: the invocation that raised it shows). */
  readonly peakRssKb: number;
  /** Notifications the subscribed queue received, by event type. */
  readonly notifications: Record<string, number>;
}

export interface ProcessRecord {
  readonly fn: Fn;
  readonly cores: Cores;
  readonly initMs: number;
  readonly initCpuMs: number;
  readonly initRssKb: number;
  readonly peakRssKb: number;
}

export interface Results {
  readonly date: string;
  readonly runs: number;
  readonly invocations: Invocation[];
  readonly processes: ProcessRecord[];
  /** Peak RSS after importing the handler alone: as deployed, and as measured here. */
  readonly importRssKb: Record<Fn, { deployed: number; sdkExternal: number }>;
  /** Bytes the tables hold per scanned image (approximate DynamoDB item sizes). */
  readonly tableBytesPerImage: number;
}

const log = (line: string) => console.log(line);
const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

// --- bundles ---

const bundlePath = (kind: 'measured' | 'deployed', fn: Fn) =>
  path.join(WORK, 'bundles', kind, fn, 'index.mjs');
const WORKER = path.join(WORK, 'bundles', 'worker.mjs');

/**
 * Each handler as deployed, and as measured: the same, but for the AWS SDK, which the measured
 * bundle imports from node_modules so that the worker's counting reaches its classes.
 */
async function buildBundles(): Promise<void> {
  for (const fn of ['scan', 'rescan'] as const) {
    await build(handlerBuildOptions(PROJECT_ROOT, fn, bundlePath('deployed', fn)));
    const options = handlerBuildOptions(PROJECT_ROOT, fn, bundlePath('measured', fn));
    await build({ ...options, external: [...(options.external ?? []), '@aws-sdk/*'] });
  }
  await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: ['bench/cost-worker.ts'],
    outfile: WORKER,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['@aws-sdk/*'],
    logLevel: 'warning',
  });
}

/** The environment the construct gives the function, pointed at the deployment. */
function functionProcessEnv(state: LocalStackState, fn: Fn, deployment: IsolatedDeployment) {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...functionEnv(state, fn),
    ...deployment.env,
    AWS_LAMBDA_FUNCTION_NAME: `bosun-${fn}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(MEMORY[fn]),
    // Lambda runs Node 24, where the SDK has nothing to warn about.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Peak RSS of a process that imports the bundle and nothing else (median of 3). */
function importRss(bundle: string, env: Record<string, string>): number {
  // VmHWM, as the worker reads it (bench/cost-worker.ts, peakRssKb).
  const script = `await import(${JSON.stringify(pathToFileURL(bundle).href)}); const { readFileSync } = await import('node:fs'); console.log(/^VmHWM:\\s+(\\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1])`;
  const runs = [0, 1, 2].map(() =>
    Number(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        env,
        encoding: 'utf8',
      }).trim(),
    ),
  );
  return median(runs);
}

// --- the function's process ---

interface Worker {
  readonly child: ChildProcess;
  readonly ready: Extract<WorkerMessage, { type: 'ready' }>;
  invoke(event: SQSEvent): Promise<Extract<WorkerMessage, { type: 'result' }>>;
  stop(): Promise<ProcessRecord>;
}

async function startWorker(
  state: LocalStackState,
  fn: Fn,
  deployment: IsolatedDeployment,
  cores: Cores,
): Promise<Worker> {
  const node = [process.execPath, WORKER, pathToFileURL(bundlePath('measured', fn)).href];
  const [command, ...args] = cores === 1 ? ['taskset', '-c', CPU, ...node] : node;
  const child = spawn(command as string, args, {
    env: functionProcessEnv(state, fn, deployment),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<WorkerMessage>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${fn} worker exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (m: WorkerMessage) => {
        child.off('exit', onExit);
        resolve(m);
      });
    });
  const ready = await next();
  if (ready.type !== 'ready') throw new Error(`${fn} worker: expected ready, got ${ready.type}`);
  let peak = ready.maxRssKb;
  return {
    child,
    ready,
    async invoke(event) {
      const answer = next();
      child.send({ type: 'invoke', event, memoryMb: MEMORY[fn] } satisfies ParentMessage);
      const result = await answer;
      if (result.type !== 'result') throw new Error(`${fn} worker: expected a result`);
      if (result.error !== undefined || result.failures > 0)
        throw new Error(`${fn} failed: ${result.error ?? `${result.failures} records failed`}`);
      peak = Math.max(peak, result.maxRssKb);
      return result;
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'exit' } satisfies ParentMessage);
      await exited;
      return {
        fn,
        cores,
        initMs: ready.initMs,
        initCpuMs: ready.initCpuMs,
        initRssKb: ready.maxRssKb,
        peakRssKb: peak,
      };
    },
  };
}

const sqsEvent = (
  fn: Fn,
  records: { messageId: string; receiptHandle: string; body: string }[],
): SQSEvent => ({
  Records: records.map((r) => ({
    ...r,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'bench',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${LOCAL_REGION}:000000000000:${fn}`,
    awsRegion: LOCAL_REGION,
  })),
});

// --- images ---

interface Layout {
  readonly name: string;
  readonly dir: string;
}

/** An OCI layout of the image, to push under new configs (same layers, new digests). */
function layoutOf(name: string, dockerArchive: string): Layout {
  const dir = path.join(WORK, `layout-${name}`);
  rmSync(dir, { recursive: true, force: true });
  sh('skopeo', ['copy', '--quiet', `docker-archive:${dockerArchive}`, `oci:${dir}:base`]);
  return { name, dir };
}

/** An OCI layout of one layer holding `files` (path in the image -> file here). */
function layoutOfFiles(name: string, files: Record<string, string>): Layout {
  const rootfs = path.join(WORK, `rootfs-${name}`);
  rmSync(rootfs, { recursive: true, force: true });
  for (const [inImage, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(rootfs, inImage)), { recursive: true });
    copyFileSync(source, path.join(rootfs, inImage));
  }
  const dir = path.join(WORK, `layout-${name}`);
  rmSync(dir, { recursive: true, force: true });
  const layer = `${rootfs}.tar`;
  sh('tar', ['-C', rootfs, '--owner=0', '--group=0', '-cf', layer, '.']);
  sh('umoci', ['init', '--layout', dir]);
  sh('umoci', ['new', '--image', `${dir}:base`]);
  // Not `umoci insert`: the layer it wrote ended mid-archive (umoci 0.4).
  sh('umoci', ['raw', 'add-layer', '--image', `${dir}:base`, layer]);
  return { name, dir };
}

let pushes = 0;
/** Pushes the image under a new config; the scan request the registry webhook would queue. */
function push(state: LocalStackState, layout: Layout): SQSEvent {
  const tag = `${layout.name}-${process.pid}-${++pushes}`;
  sh('umoci', ['config', '--image', `${layout.dir}:base`, '--tag', tag, `--config.label=c=${tag}`]);
  const registry = `127.0.0.1:${state.services.registry.port}`;
  const repository = `bench/cost-${layout.name}`;
  const digestFile = path.join(WORK, 'digest');
  sh('skopeo', [
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    '--digestfile',
    digestFile,
    `oci:${layout.dir}:${tag}`,
    `docker://${registry}/${repository}:${tag}`,
  ]);
  const digest = readFileSync(digestFile, 'utf8').trim();
  const now = new Date().toISOString();
  const body = scanRequestBody({
    action: 'PUSH',
    registry,
    repository,
    digest,
    tag,
    eventTime: now,
    eventId: `bench-${tag}`,
  });
  return sqsEvent('scan', [{ messageId: tag, receiptHandle: tag, body }]);
}

// --- the deployment's queues, bucket and tables ---

interface Clients {
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly ddb: DynamoDBClient;
}

/** Receives (and deletes) what a queue holds; waits up to `waitSeconds` for the first. */
async function drain(sqs: SQSClient, queueUrl: string, waitSeconds: number) {
  const all: { messageId: string; receiptHandle: string; body: string }[] = [];
  for (let wait = waitSeconds; ; wait = 0) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: wait,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return all;
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
    for (const m of messages)
      all.push({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
      });
  }
}

/** The notifications a subscriber received since the last call, by event type. */
async function notificationsSince(sqs: SQSClient, deployment: IsolatedDeployment) {
  const counts: Record<string, number> = {};
  for (;;) {
    const received = await receiveNotifications(sqs, deployment.subscription);
    if (received.length === 0) return counts;
    for (const r of received) {
      counts[r.body.eventType] = (counts[r.body.eventType] ?? 0) + 1;
      // What the scan found, from its summary.
      if (r.body.eventType === 'SCAN_COMPLETED')
        counts['findings in SCAN_COMPLETED'] =
          (counts['findings in SCAN_COMPLETED'] ?? 0) + r.body.summary.total;
    }
  }
}

/** Empties the layer cache, so that the next scan reads every layer. */
async function clearLayerCache(s3: S3Client, bucket: string): Promise<void> {
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: LAYER_CACHE_PREFIX }),
  );
  const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key ?? '' }));
  if (keys.length > 0)
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
}

/**
 * DynamoDB's billed item size, approximately: attribute names and values as the developer
 * guide counts them, plus 100 bytes of overhead an item (and a copy in each index that
 * projects it, not counted here).
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
 */
function valueBytes(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return Math.ceil(v.N.replace(/[-.]|e.*$/gi, '').length / 2) + 1;
  if (v.B !== undefined) return v.B.byteLength;
  if (v.SS !== undefined) return v.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (v.L !== undefined) return 3 + v.L.reduce((n, e) => n + 1 + valueBytes(e), 0);
  if (v.M !== undefined) return 3 + itemBytes(v.M);
  return 1;
}
const itemBytes = (item: Record<string, AttributeValue>): number =>
  Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + valueBytes(v), 0);

async function tableBytes(ddb: DynamoDBClient, deployment: IsolatedDeployment): Promise<number> {
  let total = 0;
  for (const table of [
    deployment.tables.images,
    deployment.tables.inventories,
    deployment.tables.findings,
  ]) {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) total += itemBytes(item) + 100;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }
  return total;
}

// --- the measurements ---

/** A folder feed holding NSWG-ECO-392 alone, withdrawn or restored on each call. */
function advisoryToggle(dir: string) {
  const record = loadAdvisories(path.join(NPM_ADVISORIES, '392.json')).records[0];
  if (record === undefined) throw new Error(`no ${DEMO_ADVISORY} among the npm advisories`);
  mkdirSync(dir, { recursive: true });
  let withdrawn = false;
  return () => {
    withdrawn = !withdrawn;
    const now = new Date().toISOString();
    writeFileSync(
      path.join(dir, `${DEMO_ADVISORY}.json`),
      JSON.stringify({ ...record, modified: now, ...(withdrawn ? { withdrawn: now } : {}) }),
    );
    return withdrawn;
  };
}

async function deploy(state: LocalStackState, c: Clients, name: string, feeds: string[]) {
  const deployment = await createIsolatedDeployment(state, name);
  for (const feed of feeds) await syncLocalFeed(state, feed, deployment.env);
  // The first syncs queue rescans of every package they added: nothing to re-match yet.
  await drain(c.sqs, deployment.queues.rescan, 0);
  return deployment;
}

async function measure(
  c: Clients,
  deployment: IsolatedDeployment,
  worker: Worker,
  scenario: string,
  cores: Cores,
  event: SQSEvent,
  images: number,
): Promise<Invocation> {
  const result = await worker.invoke(event);
  return {
    scenario,
    cores,
    wallMs: result.wallMs,
    cpuMs: result.cpuMs,
    usage: result.usage,
    images,
    peakRssKb: result.maxRssKb,
    notifications: await notificationsSince(c.sqs, deployment),
  };
}

/** Scans on one deployment: a first invocation, then RUNS x (demo cold, demo warm, alpine, large). */
async function scans(state: LocalStackState, c: Clients, cores: Cores, layouts: Layout[]) {
  const [demo, alpine, large] = layouts as [Layout, Layout, Layout];
  const deployment = await deploy(state, c, `cost-scan-${cores}`, [NPM_ADVISORIES, ALPINE_SECDB]);
  const worker = await startWorker(state, 'scan', deployment, cores);
  const out: Invocation[] = [];
  const scan = async (scenario: string, layout: Layout) =>
    out.push(await measure(c, deployment, worker, scenario, cores, push(state, layout), 1));
  await scan('scan: demo image, first invocation after init', demo);
  for (let run = 0; run < RUNS; run++) {
    await clearLayerCache(c.s3, deployment.bucket);
    await scan('scan: demo image, empty layer cache', demo);
    await scan('scan: demo image, layers cached', demo);
    await scan('scan: alpine 3.4 (57 findings), empty layer cache', alpine);
    await scan('scan: large Debian image, empty layer cache', large);
    log(`  ${cores} core(s), scan run ${run + 1}/${RUNS} done`);
  }
  const processRecord = await worker.stop();
  // Demo images scanned: the first, and two a run; all have concat-stream 1.5.0.
  return { deployment, invocations: out, processRecord, demoImages: 1 + 2 * RUNS };
}

/** Rescans: the advisory withdrawn and restored RUNS + 1 times, the first of them unreported. */
async function rescans(
  state: LocalStackState,
  c: Clients,
  cores: Cores,
  deployment: IsolatedDeployment,
  images: number,
) {
  const feed = path.join(WORK, 'feeds', deployment.bucket);
  const toggle = advisoryToggle(feed);
  const worker = await startWorker(state, 'rescan', deployment, cores);
  const out: Invocation[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const withdrawn = toggle();
    await syncLocalFeed(state, feed, deployment.env);
    const messages = await drain(c.sqs, deployment.queues.rescan, 10);
    if (messages.length === 0) throw new Error('the feed sync queued no rescan');
    const what = `rescan: ${images} image${images === 1 ? '' : 's'}`;
    const scenario =
      run === 0
        ? `${what}, first invocation after init`
        : `${what}, advisory ${withdrawn ? 'withdrawn' : 'restored'}`;
    out.push(
      await measure(c, deployment, worker, scenario, cores, sqsEvent('rescan', messages), images),
    );
  }
  return { invocations: out, processRecord: await worker.stop() };
}

async function oneImageDeployment(state: LocalStackState, c: Clients, demo: Layout) {
  const deployment = await deploy(state, c, 'cost-rescan-1', [NPM_ADVISORIES]);
  const worker = await startWorker(state, 'scan', deployment, 2);
  await worker.invoke(push(state, demo));
  await worker.stop();
  await notificationsSince(c.sqs, deployment);
  return deployment;
}

async function main(): Promise<void> {
  if (process.argv.includes('--report')) {
    // The tables again from the last run's measurements, e.g. after a price changed.
    report(JSON.parse(readFileSync(path.join(WORK, 'results.json'), 'utf8')) as Results, log);
    return;
  }
  mkdirSync(WORK, { recursive: true });
  rmSync(path.join(WORK, 'feeds'), { recursive: true, force: true });
  const { state, reused } = await up({ dir: path.join(WORK, 'stack') });
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const c: Clients = {
    sqs: new SQSClient({
      ...common,
      endpoint: state.services.fauxqs.endpoint,
      useQueueUrlAsEndpoint: false,
    }),
    s3: new S3Client({ ...common, endpoint: state.services.fauxqs.endpoint, forcePathStyle: true }),
    ddb: new DynamoDBClient({ ...common, endpoint: state.services.dynamodb.endpoint }),
  };
  try {
    log('building the handlers (as deployed, and with the AWS SDK external)');
    await buildBundles();
    const demoImage = await debianImage(log, DEMO_IMAGE);
    const largeImage = await debianImage(log, BENCH_IMAGE);
    const layouts = [
      layoutOf('demo', demoImage.archive),
      layoutOfFiles('alpine', ALPINE_FILES),
      layoutOf('large', largeImage.archive),
    ];

    const invocations: Invocation[] = [];
    const processes: ProcessRecord[] = [];
    let tableBytesPerImage = 0;
    for (const cores of [1, 2] as const) {
      log(`${cores === 1 ? `pinned to core ${CPU}` : 'on both cores'}: scans`);
      const s = await scans(state, c, cores, layouts);
      invocations.push(...s.invocations);
      processes.push(s.processRecord);
      tableBytesPerImage =
        (await tableBytes(c.ddb, s.deployment)) / s.invocations.filter((i) => i.images).length;
      log(`${cores} core(s): rescans of ${s.demoImages} images, then of one`);
      const many = await rescans(state, c, cores, s.deployment, s.demoImages);
      const one = await rescans(
        state,
        c,
        cores,
        await oneImageDeployment(state, c, layouts[0] as Layout),
        1,
      );
      invocations.push(...many.invocations, ...one.invocations);
      processes.push(many.processRecord, one.processRecord);
    }
    const anyDeployment = await createIsolatedDeployment(state, 'cost-import');
    const importRssKb = Object.fromEntries(
      (['scan', 'rescan'] as const).map((fn) => {
        const env = functionProcessEnv(state, fn, anyDeployment);
        return [
          fn,
          {
            deployed: importRss(bundlePath('deployed', fn), env),
            sdkExternal: importRss(bundlePath('measured', fn), env),
          },
        ];
      }),
    ) as Results['importRssKb'];
    const results: Results = {
      date: new Date().toISOString(),
      runs: RUNS,
      invocations,
      processes,
      importRssKb,
      tableBytesPerImage,
    };
    writeFileSync(path.join(WORK, 'results.json'), JSON.stringify(results, null, 2));
    report(results, log);
    log(`\nall measurements: ${path.relative(PROJECT_ROOT, path.join(WORK, 'results.json'))}`);
  } finally {
    for (const client of Object.values(c)) client.destroy();
    if (!reused) await down(path.join(WORK, 'stack'));
  }
}

await main();
