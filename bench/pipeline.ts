/**
 * npm run bench:pipeline — the pipeline on the local stack, handlers in a functions host of
 * their own (a child process, as a Lambda container would be), each run on an isolated
 * deployment (fresh tables, queues, topic, bucket):
 *
 * 1. push -> FINDINGS_NEW: the demo's real Debian image (debootstrap minbase + a real npm
 *    lockfile layer) pushed to the local registry; the time from the start of the push, and
 *    from its end (the registry's notification), to the FINDINGS_NEW message on a subscribed
 *    queue. The first run of each deployment reads every layer (empty layer cache); a second
 *    push of the same layers under a new config (umoci) finds them in the cache.
 * 2. rescan: 10,000 tracked images seeded directly into DynamoDB Local (inventories of real
 *    lockfile packages), 1,000 of them with concat-stream 1.5.0; NSWG-ECO-392 arrives through a
 *    feed sync; the time from the sync's start to the 1,000th FINDINGS_NEW.
 *
 * BENCH_RUNS (default 3) push runs; BENCH_IMAGES (default 10000) and BENCH_AFFECTED (1000).
 *
 * BENCH_ADVISORIES=DIR (e.g. `.local/bench/scale/osv`, from `npm run bench:scale:generate`):
 * first loads DIR into one advisory table through the feed sync (wall time, write units that
 * DynamoDB Local reports with ReturnConsumedCapacity, the table's items and bytes), syncs 100 of
 * its records again changed (an incremental sync), and then runs both measurements above with
 * every deployment reading that table instead of a fresh one.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { debianImage } from '../scripts/debian-image.js';
import { DEMO_IMAGE, DEMO_LOCKFILE, NPM_ADVISORIES } from '../scripts/demo-data.js';
import { syncLocalFeed } from '../scripts/local/feed.js';
import {
  createIsolatedDeployment,
  createTableLike,
  type IsolatedDeployment,
} from '../scripts/local/isolated.js';
import { receiveNotifications } from '../scripts/local/notifications.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, PROJECT_ROOT } from '../scripts/local/services.js';
import { down, type LocalStackState, up } from '../scripts/local/stack.js';
import { loadAdvisories } from '../shared/advisories/load.js';
import { mapLimit } from '../shared/concurrency.js';
import { LocalFeedSource } from '../shared/feeds/sources/local.js';
import { syncFeed } from '../shared/feeds/sync.js';
import { RootfsDirSource } from '../shared/image/rootfs-dir.js';
import type { Image } from '../shared/image/types.js';
import { buildInventory, matchablePackages } from '../shared/inventory/inventory.js';
import type { InventoryPackage } from '../shared/matcher/types.js';
import type { Notification } from '../shared/notifications/message.js';
import { ANALYZER_VERSION, scanIdOf } from '../shared/pipeline/scan.js';
import { DynamoDbAdvisoryStore } from '../shared/stores/dynamodb/advisory-store.js';
import { documentClient } from '../shared/stores/dynamodb/client.js';
import { DynamoDbItemTable } from '../shared/stores/dynamodb/item-table.js';
import { ImageStore } from '../shared/stores/image-store.js';
import { InventoryStore } from '../shared/stores/inventory-store.js';
import { unitsOf, WRITES } from './dynamodb-capacity.js';
import { median } from './stats.js';

const WORK = path.join(PROJECT_ROOT, '.local', 'bench', 'pipeline');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 10_000);
const AFFECTED = Number(process.env.BENCH_AFFECTED ?? 1_000);
const SCALE_ADVISORIES = process.env.BENCH_ADVISORIES;

const log = (line: string) => console.log(line);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** A functions host in a child process, pointed at the deployment; resolves once it listens. */
async function startHost(deployment: IsolatedDeployment): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts/local/functions-host.ts')],
    {
      env: {
        ...process.env,
        ...deployment.env,
        BOSUN_HOST_QUIET: '1',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('functions host running')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`functions host exited (${code})`)));
  });
  return child;
}

async function stopHost(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Receives the subscription's messages until `count` of `eventType` arrived; their arrival times. */
async function collect(
  sqs: SQSClient,
  queueUrl: string,
  eventType: string,
  count: number,
  timeoutMs: number,
) {
  const arrivals: { at: number; body: Notification }[] = [];
  const others: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (arrivals.length < count) {
    if (Date.now() > deadline)
      throw new Error(`only ${arrivals.length} of ${count} ${eventType} within ${timeoutMs} ms`);
    for (const { at, body } of await receiveNotifications(sqs, queueUrl)) {
      if (body.eventType === eventType) arrivals.push({ at, body });
      else others.push(body.eventType);
    }
  }
  return { arrivals, others };
}

/** The deployment `name`, reading `advisories` (the preloaded table) when one is given. */
async function deploy(
  state: LocalStackState,
  name: string,
  advisories: string | undefined,
): Promise<IsolatedDeployment> {
  const deployment = await createIsolatedDeployment(state, name);
  if (advisories === undefined) return deployment;
  return {
    ...deployment,
    tables: { ...deployment.tables, advisories },
    env: { ...deployment.env, BOSUN_ADVISORIES_TABLE: advisories },
  };
}

async function pushToFindings(
  state: LocalStackState,
  sqs: SQSClient,
  archive: string,
  advisories: string | undefined,
) {
  const layout = path.join(WORK, 'layout');
  rmSync(layout, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  execFileSync('skopeo', ['copy', '--quiet', `docker-archive:${archive}`, `oci:${layout}:base`]);
  const results: { cold: boolean; push: number; afterPush: number; total: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const deployment = await deploy(state, `bench-push-${run}`, advisories);
    await syncLocalFeed(state, NPM_ADVISORIES, deployment.env);
    const host = await startHost(deployment);
    try {
      for (const cold of [true, false]) {
        // A new config (same layers) gives a new digest: a new image to scan.
        const tag = `run-${run}-${cold ? 'cold' : 'warm'}-${Date.now()}`;
        execFileSync('umoci', [
          'config',
          '--image',
          `${layout}:base`,
          '--tag',
          tag,
          `--config.label=bench.run=${tag}`,
        ]);
        const destination = `127.0.0.1:${state.services.registry.port}/bench/pipeline:${tag}`;
        const t0 = Date.now();
        execFileSync('skopeo', [
          'copy',
          '--quiet',
          '--dest-tls-verify=false',
          `oci:${layout}:${tag}`,
          `docker://${destination}`,
        ]);
        const t1 = Date.now();
        const { arrivals } = await collect(
          sqs,
          deployment.subscription,
          'FINDINGS_NEW',
          1,
          120_000,
        );
        const t2 = arrivals[0]?.at as number;
        results.push({ cold, push: t1 - t0, afterPush: t2 - t1, total: t2 - t0 });
        log(
          `  run ${run + 1} ${cold ? 'cold cache' : 'warm cache'}: push ${seconds(t1 - t0)}, push -> FINDINGS_NEW ${seconds(t2 - t1)}, total ${seconds(t2 - t0)}`,
        );
      }
    } finally {
      await stopHost(host);
    }
  }
  return results;
}

/** The demo lockfile's packages, as a scan of an image holding it stores them. */
async function lockfilePackages(): Promise<InventoryPackage[]> {
  const root = mkdtempSync(path.join(tmpdir(), 'bosun-bench-lockfile-'));
  try {
    mkdirSync(path.join(root, 'srv/app'), { recursive: true });
    copyFileSync(DEMO_LOCKFILE, path.join(root, 'srv/app/package-lock.json'));
    const image = (await new RootfsDirSource(root).images()).images[0] as Image;
    return matchablePackages(await buildInventory(image));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function rescanThousand(
  state: LocalStackState,
  sqs: SQSClient,
  advisories: string | undefined,
) {
  const deployment = await deploy(state, 'bench-rescan', advisories);
  const ddb = documentClient({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: state.services.dynamodb.endpoint,
  });
  const images = new ImageStore(new DynamoDbItemTable(ddb, deployment.tables.images));
  const inventories = new InventoryStore(new DynamoDbItemTable(ddb, deployment.tables.inventories));
  const all = await lockfilePackages();
  const target = all.find((p) => p.name === 'concat-stream' && p.version === '1.5.0');
  if (target === undefined) throw new Error('the lockfile has no concat-stream 1.5.0');
  const others = all.filter((p) => p.name !== 'concat-stream');
  const seedStart = Date.now();
  const now = new Date().toISOString();
  await mapLimit(
    Array.from({ length: IMAGES }, (_, i) => i),
    16,
    async (i) => {
      const digest = `sha256:${createHash('sha256').update(`bench-image-${i}`).digest('hex')}`;
      const scanId = scanIdOf(digest, ANALYZER_VERSION);
      // Ten real packages per image, a different window of the lockfile each time.
      const packages = Array.from(
        { length: 10 },
        (_, k) => others[(i * 7 + k) % others.length] as InventoryPackage,
      );
      if (i < AFFECTED) packages[0] = target;
      await images.recordPush(digest, `127.0.0.1:5000/bench/app-${i % 100}`, `v${i}`, now);
      await inventories.putInventory(
        { digest, scanId, packageCount: packages.length, extractors: 'bench', committedAt: now },
        packages,
      );
      await images.putImage(
        {
          digest,
          status: 'COMPLETE',
          analyzerVersion: ANALYZER_VERSION,
          scanId,
          findingsGeneration: 0,
          announcedGeneration: 0,
          lastScannedAt: now,
        },
        undefined,
      );
    },
  );
  log(
    `  seeded ${IMAGES} images (${AFFECTED} with concat-stream 1.5.0), 10 packages each, in ${seconds(Date.now() - seedStart)}`,
  );

  const feed = path.join(WORK, 'feed');
  rmSync(feed, { recursive: true, force: true });
  mkdirSync(feed, { recursive: true });
  const record = loadAdvisories(path.join(NPM_ADVISORIES, '392.json')).records[0];
  if (record === undefined) throw new Error('NSWG-ECO-392 did not load');
  // A preloaded table already holds it (the push runs synced the npm set into it): there it
  // arrives as a change of the record, here as a new one; either way concat-stream changed.
  const changed =
    advisories === undefined ? record : { ...record, modified: new Date().toISOString() };
  writeFileSync(path.join(feed, 'NSWG-ECO-392.json'), JSON.stringify(changed));
  const host = await startHost(deployment);
  try {
    const t0 = Date.now();
    await syncLocalFeed(state, feed, deployment.env);
    const synced = Date.now();
    const { arrivals, others: extra } = await collect(
      sqs,
      deployment.subscription,
      'FINDINGS_NEW',
      AFFECTED,
      600_000,
    );
    const last = Math.max(...arrivals.map((a) => a.at));
    const digests = new Set(arrivals.map((a) => a.body.image.digest));
    log(
      `  feed sync ${seconds(synced - t0)}; ${arrivals.length} FINDINGS_NEW for ${digests.size} images, the last ${seconds(last - t0)} after the sync started; other messages: ${extra.length}`,
    );
    return { total: last - t0, sync: synced - t0, messages: arrivals.length, images: digests.size };
  } finally {
    await stopHost(host);
    ddb.destroy();
  }
}

/** Sums the write units DynamoDB reports for the writes `client` sends (ReturnConsumedCapacity). */
function countWriteUnits(client: DynamoDBClient): { units: number; requests: number } {
  const counts = { units: 0, requests: 0 };
  // The document client's commands (Put, BatchWrite, …) run as the client's (PutItem, …).
  type Step = (args: { input: Record<string, unknown> }) => Promise<{ output: unknown }>;
  (
    client.middlewareStack as unknown as {
      add(m: (next: Step, context: { commandName?: string }) => Step, o: object): void;
    }
  ).add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      if (!WRITES.has(operation)) return next(args);
      counts.requests++;
      const out = await next({
        ...args,
        input: { ...args.input, ReturnConsumedCapacity: 'TOTAL' },
      });
      counts.units += unitsOf(
        operation,
        (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity,
      ).writes;
      return out;
    },
    { step: 'initialize', name: 'benchWriteUnits' },
  );
  return counts;
}

/**
 * Loads SCALE_ADVISORIES into a table of its own through the feed sync, as the feed-sync
 * function writes, then syncs 100 of its records again, changed; returns the table's name.
 */
async function loadScaleTable(state: LocalStackState, dir: string): Promise<string> {
  const table = `advisories-scale-${process.pid}`;
  const raw = new DynamoDBClient({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: state.services.dynamodb.endpoint,
  });
  await createTableLike(state, 'ScannerTablesAdvisories', table, raw);
  const ddb = documentClient({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: state.services.dynamodb.endpoint,
  });
  const counts = countWriteUnits(ddb as unknown as DynamoDBClient);
  const store = new DynamoDbAdvisoryStore(ddb, table);
  try {
    const t0 = Date.now();
    const full = await syncFeed({
      source: new LocalFeedSource(dir, 'bench-scale'),
      store,
      onBatch: (p) => {
        if (p.position % 50_000 < 200) log(`  ${p.position} read, ${seconds(Date.now() - t0)}`);
      },
    });
    const fullMs = Date.now() - t0;
    const described = (await raw.send(new DescribeTableCommand({ TableName: table }))).Table;
    log(
      `full load: ${full.position} records read, ${full.written} written, ${full.invalid} issues in ${seconds(fullMs)} (${Math.round(full.written / (fullMs / 1000))} records/s); ${counts.requests} write requests, ${Math.round(counts.units)} write units; table ${described?.ItemCount} items, ${((described?.TableSizeBytes ?? 0) / 1e6).toFixed(0)} MB; peak RSS of this process (the sync, and the bench under tsx) ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`,
    );
    // 100 records as their publisher changed them: a new `modified` and one more reference.
    const changedDir = path.join(WORK, 'scale-changed');
    rmSync(changedDir, { recursive: true, force: true });
    mkdirSync(changedDir, { recursive: true });
    const ecosystems = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    for (let i = 0; i < 100; i++) {
      const ecosystem = ecosystems[i % ecosystems.length] as string;
      const files = readdirSync(path.join(dir, ecosystem))
        .filter((f) => f.endsWith('.json'))
        .sort();
      const file = files[Math.floor(i / ecosystems.length) % files.length] as string;
      const record = JSON.parse(readFileSync(path.join(dir, ecosystem, file), 'utf8'));
      record.modified = new Date().toISOString();
      record.references = [
        ...(record.references ?? []),
        { type: 'WEB', url: `https://example.com/bench/${i}` },
      ];
      writeFileSync(path.join(changedDir, `${ecosystem}-${file}`), JSON.stringify(record));
    }
    const before = { ...counts };
    const t1 = Date.now();
    const incremental = await syncFeed({
      source: new LocalFeedSource(changedDir, 'bench-scale-changes'),
      store,
    });
    log(
      `incremental: ${incremental.written} of ${incremental.position} changed records written in ${seconds(Date.now() - t1)}, ${incremental.changes.length} package changes; ${counts.requests - before.requests} write requests, ${Math.round(counts.units - before.units)} write units`,
    );
    return table;
  } finally {
    ddb.destroy();
    raw.destroy();
  }
}

async function main() {
  const { state, reused } = await up();
  const sqs = new SQSClient({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: state.services.fauxqs.endpoint,
    useQueueUrlAsEndpoint: false,
  });
  const advisories =
    SCALE_ADVISORIES === undefined ? undefined : await loadScaleTable(state, SCALE_ADVISORIES);
  const image = await debianImage(log, DEMO_IMAGE);
  log(
    `push -> FINDINGS_NEW: Debian bookworm minbase (${(image.rootfsBytes / 1e6).toFixed(0)} MB rootfs) + a lockfile layer, ${RUNS} runs`,
  );
  const pushes = await pushToFindings(state, sqs, image.archive, advisories);
  const cold = pushes.filter((p) => p.cold);
  const warm = pushes.filter((p) => !p.cold);
  log(
    `push -> FINDINGS_NEW, median: cold cache ${seconds(median(cold.map((p) => p.total)))} (after the push ${seconds(median(cold.map((p) => p.afterPush)))}), warm cache ${seconds(median(warm.map((p) => p.total)))} (after the push ${seconds(median(warm.map((p) => p.afterPush)))}); target 10 s`,
  );
  log(`rescan: ${AFFECTED} of ${IMAGES} tracked images affected by one advisory`);
  const rescan = await rescanThousand(state, sqs, advisories);
  log(`rescan: feed change -> last notification ${seconds(rescan.total)}; target 60 s`);
  sqs.destroy();
  if (!reused) await down();
}

await main();
