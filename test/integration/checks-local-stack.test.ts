/**
 * The hardening checks through the deployed pipeline on the local stack: an image of real files
 * (test/support/check-images.ts) pushed to the local registry, its push notification through the
 * webhook to the scan queue and the scan function (configured from the template, with the
 * deployment's BOSUN_IMAGE_CHECKS), the checks stored in the findings table beside the findings,
 * CHECKS_NEW delivered once through SNS to a subscribed queue (attributes for filtering
 * included); the same digest pushed again announces nothing new; no planted value in any stored
 * item or delivered message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type FunctionsHost, startFunctionsHost } from '../../scripts/local/functions-host.js';
import { createIsolatedDeployment, type IsolatedDeployment } from '../../scripts/local/isolated.js';
import { checksConfigEnvValue } from '../../shared/checks/config.js';
import { ChecksStore } from '../../shared/stores/checks-store.js';
import { DynamoDbItemTable } from '../../shared/stores/dynamodb/item-table.js';
import { localClients, localDynamoDb, queueSettled } from '../support/aws.js';
import { PLANTED, writeSecretsImage } from '../support/check-images.js';
import { pushLayout } from '../support/oci.js';
import { TopicCollector } from '../support/topic.js';

const state = inject('localStack');
const clients = localClients(state);
const ddb = localDynamoDb(state);
const work = mkdtempSync(path.join(tmpdir(), 'bosun-checks-e2e-'));
const registryHost = `127.0.0.1:${state.services.registry.port}`;

let host: FunctionsHost;
let deployment: IsolatedDeployment;
let topic: TopicCollector;

beforeAll(async () => {
  deployment = await createIsolatedDeployment(state, 'checks-e2e');
  topic = new TopicCollector(clients.sqs, deployment.subscription);
  host = await startFunctionsHost(state, {
    log: () => undefined,
    env: {
      ...deployment.env,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      BOSUN_WEBHOOK_REGISTRIES: registryHost,
      // As the construct's imageChecks prop sets it: the healthcheck check raised for checks-e2e/*.
      BOSUN_IMAGE_CHECKS: checksConfigEnvValue(
        { rules: [{ repositories: ['checks-e2e/*'], severity: { 'BOSUN-IMG-032': 'HIGH' } }] },
        'imageChecks',
      ),
    },
  });
}, 180_000);

afterAll(async () => {
  await host?.stop();
  clients.destroy();
  ddb.destroy();
  rmSync(work, { recursive: true, force: true });
});

async function push(destination: string): Promise<string> {
  const dir = path.join(work, 'image');
  await writeSecretsImage(dir);
  pushLayout(dir, 'latest', destination, { format: 'oci' });
  const [repository, tag] = destination.slice(registryHost.length + 1).split(':');
  const response = await fetch(`http://${registryHost}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  return response.headers.get('docker-content-digest') as string;
}

it('stores the checks and delivers CHECKS_NEW once, with the configured severity', async () => {
  const digest = await push(`${registryHost}/checks-e2e/app:1`);
  await topic.waitFor(
    (all) => all.some((r) => r.body.eventType === 'CHECKS_NEW' && r.body.image.digest === digest),
    'CHECKS_NEW',
    120_000,
  );
  const [delivered] = topic.of('CHECKS_NEW', digest);
  expect(delivered?.attributes.eventType).toBe('CHECKS_NEW');
  expect(delivered?.attributes.maxSeverity).toBe('CRITICAL');
  expect(delivered?.body.checks?.listed.find((c) => c.id === 'BOSUN-IMG-032')?.severity).toBe(
    'HIGH',
  );
  const store = new ChecksStore(new DynamoDbItemTable(ddb.documents, deployment.tables.findings));
  const stored = await store.open(digest);
  expect(stored.map((c) => c.checkId).sort()).toEqual(
    (delivered?.body.checks?.listed ?? []).map((c) => c.id).sort(),
  );
  expect(await store.imageUser(digest)).toMatchObject({ kind: 'root' });

  // The same digest under another tag: already scanned, nothing announced again.
  await push(`${registryHost}/checks-e2e/app:2`);
  await queueSettled(clients.sqs, deployment.queues.scan);
  await topic.drain();
  expect(topic.of('CHECKS_NEW', digest)).toHaveLength(1);
  expect(topic.of('CHECKS_RESOLVED', digest)).toEqual([]);

  const items = JSON.stringify(await store.checks(digest));
  const messages = JSON.stringify(topic.received);
  for (const value of PLANTED) expect(`${items}\n${messages}`.includes(value), value).toBe(false);
}, 240_000);
