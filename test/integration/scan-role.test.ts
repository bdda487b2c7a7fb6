/**
 * The scan role's DynamoDB permissions against what the scan handler actually sends: a real
 * Alpine 3.10 image pushed to the local registry is scanned (first scan, the same push again,
 * then its deletion) by the scan handler configured from the template, with every DynamoDB
 * command recorded at the SDK boundary and turned into the IAM actions it needs
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/api-permissions-reference.html;
 * each TransactWriteItems item is authorized as its own Put/Delete/Update/ConditionCheck). DynamoDB
 * Local enforces no IAM: without this, a missing action would fail only in AWS.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, expect, inject, it, vi } from 'vitest';
import { functionEnv } from '../../scripts/local/stack.js';
import { type ScanRequest, scanRequestBody } from '../../shared/events/scan-request.js';
import { resourceByPrefix } from '../support/aws.js';
import { dataDir } from '../support/fixtures.js';
import { lambdaContext } from '../support/lambda.js';

const state = inject('localStack');
const TABLES = ['Images', 'Inventories', 'Advisories', 'Findings'] as const;
const work = mkdtempSync(path.join(tmpdir(), 'bosun-scan-role-'));

/** `<table logical id>` -> IAM actions sent, from the recorded commands. */
const sent = new Map<string, Set<string>>();
let digest = '';
const repository = `role/alpine-${process.pid}`;

function record(tableName: string | undefined, action: string, index?: string) {
  const table = TABLES.find((t) => resourceByPrefix(state, `ScannerTables${t}`).ref === tableName);
  if (table === undefined) throw new Error(`a command on an unknown table ${tableName}`);
  const key = `${table}${index === undefined ? '' : '/index'}`;
  sent.set(key, (sent.get(key) ?? new Set()).add(`dynamodb:${action}`));
}

/** The IAM actions a lib-dynamodb command needs, by its class name. */
function recordCommand(command: { constructor: { name: string }; input: Record<string, unknown> }) {
  const input = command.input;
  const table = input.TableName as string | undefined;
  const simple: Record<string, string> = {
    GetCommand: 'GetItem',
    PutCommand: 'PutItem',
    DeleteCommand: 'DeleteItem',
    UpdateCommand: 'UpdateItem',
    ScanCommand: 'Scan',
  };
  const name = command.constructor.name;
  if (simple[name] !== undefined) return record(table, simple[name]);
  if (name === 'QueryCommand') return record(table, 'Query', input.IndexName as string | undefined);
  if (name === 'BatchWriteCommand' || name === 'BatchGetCommand')
    for (const t of Object.keys(input.RequestItems as object))
      record(t, name === 'BatchWriteCommand' ? 'BatchWriteItem' : 'BatchGetItem');
  else if (name === 'TransactWriteCommand')
    for (const item of input.TransactItems as Record<string, { TableName: string }>[])
      for (const [kind, op] of Object.entries(item))
        record(
          op.TableName,
          { Put: 'PutItem', Delete: 'DeleteItem', Update: 'UpdateItem' }[kind] ??
            'ConditionCheckItem',
        );
  else throw new Error(`unmapped DynamoDB command ${name}`);
}

/** The scan role's DynamoDB actions in the template the local stack was made from. */
function allowed(): Map<string, Set<string>> {
  const template = JSON.parse(readFileSync(state.templateFile, 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const out = new Map<string, Set<string>>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    if (!JSON.stringify(resource.Properties.Roles).includes('ScannerScanRole')) continue;
    const doc = resource.Properties.PolicyDocument as {
      Statement: { Action: string | string[]; Resource: unknown }[];
    };
    for (const st of doc.Statement) {
      const actions = (Array.isArray(st.Action) ? st.Action : [st.Action]).filter((a) =>
        a.startsWith('dynamodb:'),
      );
      for (const r of Array.isArray(st.Resource) ? st.Resource : [st.Resource]) {
        const text = JSON.stringify(r);
        const table = TABLES.find((t) => text.includes(`ScannerTables${t}`));
        if (table === undefined || actions.length === 0) continue;
        const key = `${table}${text.includes('/index/') ? '/index' : ''}`;
        out.set(key, new Set([...(out.get(key) ?? []), ...actions]));
      }
    }
  }
  return out;
}

async function scan(request: ScanRequest): Promise<void> {
  const { handler } = await import('../../functions/scan/index.js');
  const event: SQSEvent = {
    Records: [
      {
        messageId: request.eventId,
        receiptHandle: request.eventId,
        body: scanRequestBody(request),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'AIDA',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: resourceByPrefix(state, 'ScannerScanQueue').attributes.Arn ?? '',
        awsRegion: 'us-east-1',
      },
    ],
  };
  expect(await handler(event, lambdaContext('scan'))).toEqual({ batchItemFailures: [] });
}

beforeAll(async () => {
  // A real Alpine 3.10 image, `docker save`d and gzipped; skopeo reads the plain tar.
  const archive = path.join(work, 'alpine-310.tar');
  const source = path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz');
  await pipeline(createReadStream(source), createGunzip(), createWriteStream(archive));
  const host = `127.0.0.1:${state.services.registry.port}`;
  execFileSync('skopeo', [
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    `docker-archive:${archive}`,
    `docker://${host}/${repository}:3.10`,
  ]);
  const head = await fetch(`${state.services.registry.endpoint}/v2/${repository}/manifests/3.10`, {
    method: 'HEAD',
    headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  digest = head.headers.get('docker-content-digest') ?? '';

  for (const [name, value] of Object.entries(functionEnv(state, 'scan'))) vi.stubEnv(name, value);
  vi.resetModules();
  const original = DynamoDBDocumentClient.prototype.send;
  vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(function (
    this: DynamoDBDocumentClient,
    ...args: Parameters<typeof original>
  ) {
    recordCommand(args[0] as unknown as Parameters<typeof recordCommand>[0]);
    return (original as (...a: unknown[]) => unknown).apply(this, args) as never;
  });
}, 120_000);

afterAll(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  rmSync(work, { recursive: true, force: true });
});

it('allows every DynamoDB action the scan sends for a push, the same push again and a delete', async () => {
  expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
  const host = `127.0.0.1:${state.services.registry.port}`;
  const base = { registry: host, repository, digest, tag: '3.10' };
  const now = () => new Date().toISOString();
  await scan({ ...base, action: 'PUSH', eventTime: now(), eventId: crypto.randomUUID() });
  await scan({ ...base, action: 'PUSH', eventTime: now(), eventId: crypto.randomUUID() });
  await scan({ ...base, action: 'DELETE', eventTime: now(), eventId: crypto.randomUUID() });

  const granted = allowed();
  const missing = [...sent].flatMap(([table, actions]) =>
    [...actions].filter((a) => !granted.get(table)?.has(a)).map((a) => `${table}: ${a}`),
  );
  expect(missing).toEqual([]);
  // What a scan reads and writes, at least: these paths ran.
  expect(sent.get('Images')).toEqual(
    new Set(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem']),
  );
  // Nothing a scan sends needs Scan or UpdateItem, which the role no longer has.
  const everything = [...sent.values()].flatMap((s) => [...s]);
  expect(everything).not.toContain('dynamodb:Scan');
  expect(everything).not.toContain('dynamodb:UpdateItem');
}, 180_000);
