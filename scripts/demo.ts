/**
 * The main job, locally (npm run demo, after scripts/demo.sh has installed, synthesized and
 * started the local stack): a real Debian image is pushed to the local registry, the registry's
 * push notification reaches the webhook, the scan function scans it, and the findings topic's
 * messages are printed as a subscriber receives them; then an advisory is withdrawn in a local
 * advisory directory, the feed sync names the changed package, and the rescan's message is
 * printed. Handlers run in this process (scripts/local/functions-host.ts), as Lambda runs them.
 */

import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadAdvisories } from '../shared/advisories/load.js';
import type { Notification } from '../shared/notifications/message.js';
import { debianImage } from './debian-image.js';
import { DEMO_ADVISORY, DEMO_IMAGE, NPM_ADVISORIES } from './demo-data.js';
import { syncLocalFeed } from './local/feed.js';
import { startFunctionsHost } from './local/functions-host.js';
import { receiveNotifications, subscribeQueue } from './local/notifications.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, PROJECT_ROOT } from './local/services.js';
import { DEFAULT_LOCAL_DIR, functionEnv, readState } from './local/stack.js';

const WITHDRAWN = DEMO_ADVISORY;
const DEMO_DIR = path.join(PROJECT_ROOT, '.local', 'demo');

const state = readState(process.env.BOSUN_LOCAL_DIR ?? DEFAULT_LOCAL_DIR);
if (state === undefined) {
  console.error('demo: the local stack is not running (npm run local:up)');
  process.exit(2);
}
const say = (line: string) => console.log(line);
const clientConfig = {
  region: LOCAL_REGION,
  credentials: LOCAL_CREDENTIALS,
  endpoint: state.services.fauxqs.endpoint,
};
const sqs = new SQSClient({ ...clientConfig, useQueueUrlAsEndpoint: false });
const sns = new SNSClient(clientConfig);

function describe(n: Notification): string {
  const counts = Object.entries(n.summary.bySeverity)
    .filter(([, c]) => c > 0)
    .map(([s, c]) => `${c} ${s}`)
    .join(', ');
  const head = `${n.eventType} ${n.image.tags.join(' ') || n.image.digest.slice(0, 19)} (${n.trigger})`;
  const lines = [`  ${head}: ${n.summary.total} findings${counts === '' ? '' : ` (${counts})`}`];
  for (const f of n.findings.slice(0, 5))
    lines.push(
      `      ${f.severity.padEnd(8)} ${f.id.padEnd(16)} ${f.packageName} ${f.installedVersion} -> ${f.fixedVersion ?? '(no fix)'} [${f.status}${f.statusReason === undefined ? '' : `: ${f.statusReason}`}]`,
    );
  if (n.tagMove !== undefined)
    lines.push(`      ${n.tagMove.previousDigest} -> ${n.tagMove.digest}`);
  if (n.failure !== undefined) lines.push(`      ${n.failure.reason}`);
  // The demo syncs npm advisories only: the scan says the Debian packages went unchecked.
  for (const gap of n.coverage?.gaps ?? []) lines.push(`      coverage gap: ${gap.message}`);
  if (n.report !== undefined) lines.push(`      report: s3://${n.report.bucket}/${n.report.key}`);
  return lines.join('\n');
}

/** Prints the topic's messages for `digest` until `done` says enough; returns them. */
async function receive(
  queueUrl: string,
  digest: string,
  done: (seen: Notification[]) => boolean,
  started: number,
) {
  const seen: Notification[] = [];
  const deadline = Date.now() + 120_000;
  while (!done(seen)) {
    if (Date.now() > deadline) throw new Error('demo: no notification within 2 minutes');
    for (const { body: n, attributes: all } of await receiveNotifications(sqs, queueUrl)) {
      if (n.image.digest !== digest) continue;
      seen.push(n);
      const attributes = Object.entries(all)
        .filter(([k]) => k !== 'dedupeKey')
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      say(
        `${describe(n)}\n      attributes: ${attributes}  (+${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
    }
  }
  return seen;
}

async function main(): Promise<void> {
  if (state === undefined) return;
  // The advisories this demo serves itself: the Node.js security WG's npm advisories, copied.
  const advisories = path.join(DEMO_DIR, 'advisories', 'npm');
  rmSync(advisories, { recursive: true, force: true });
  mkdirSync(path.dirname(advisories), { recursive: true });
  cpSync(NPM_ADVISORIES, advisories, { recursive: true });

  const image = await debianImage(say, DEMO_IMAGE);

  const topicArn = functionEnv(state, 'scan').BOSUN_FINDINGS_TOPIC_ARN as string;
  const subscriber = await subscribeQueue(sqs, sns, topicArn, `demo-subscriber-${Date.now()}`);
  say(`subscribed a queue to the findings topic ${topicArn}`);

  const host = await startFunctionsHost(state, {
    log: () => undefined,
    env: { POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' },
  });
  try {
    const synced = await syncLocalFeed(state, advisories);
    say(
      `advisories synced from ${path.relative(PROJECT_ROOT, advisories)}: ${JSON.stringify(synced.map((s) => ('written' in s ? { source: s.source, written: s.written } : s)))}`,
    );

    const repo = `127.0.0.1:${state.services.registry.port}/demo/app`;
    say(
      `\npushing the Debian image (${(image.rootfsBytes / 1e6).toFixed(0)} MB root filesystem + an application layer) to ${repo}:1`,
    );
    const started = Date.now();
    execFileSync('skopeo', [
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      `docker-archive:${image.archive}`,
      `docker://${repo}:1`,
    ]);
    const digest = execFileSync(
      'skopeo',
      ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${repo}:1`],
      { encoding: 'utf8' },
    ).trim();
    say(
      `pushed ${digest}; the registry notifies the webhook, which queues the scan. Messages on the topic:`,
    );
    const first = await receive(
      subscriber,
      digest,
      (s) =>
        s.some((n) => n.eventType === 'SCAN_COMPLETED') &&
        s.some((n) => n.eventType !== 'SCAN_COMPLETED' || n.summary.total === 0),
      started,
    );
    const scanned = first.find((n) => n.eventType === 'SCAN_COMPLETED');
    if (scanned !== undefined && scanned.summary.total === 0)
      say('  (no findings: nothing announced besides SCAN_COMPLETED)');

    say(
      `\nan advisory changes: ${WITHDRAWN} is withdrawn in ${path.relative(PROJECT_ROOT, advisories)}`,
    );
    const record = loadAdvisories(path.join(advisories, '392.json')).records[0];
    if (record === undefined) throw new Error(`demo: ${WITHDRAWN} is not in the npm advisories`);
    rmSync(path.join(advisories, '392.json'));
    const now = new Date().toISOString();
    writeFileSync(
      path.join(advisories, `${WITHDRAWN}.json`),
      JSON.stringify({ ...record, modified: now, withdrawn: now }, null, 2),
    );
    const changed = Date.now();
    const resync = await syncLocalFeed(state, advisories);
    say(
      `feed synced: ${JSON.stringify(resync.map((s) => ('changes' in s ? { changes: s.changes } : s)))}; the rescan re-matches the stored inventory (no pull):`,
    );
    await receive(
      subscriber,
      digest,
      (s) => s.some((n) => n.eventType === 'FINDINGS_RESOLVED'),
      changed,
    );
  } finally {
    await host.stop();
    sqs.destroy();
    sns.destroy();
  }
  say('\ndone. The local stack keeps running: npm run local:down stops it.');
}

await main();
