/**
 * What the backfill function does with an invocation, on the embedded item table, ECR answered
 * at the SDK client's request handler (test/support/ecr-service.ts), Lambda's Invoke likewise,
 * and CloudFormation's response URL a loopback HTTP server:
 * - the documented message: a run stopped at its deadline continues itself (an Event invocation
 *   of the same function with the same message) until the backfill is done, each image queued
 *   once; a run that could not move, or a done backfill, is not continued;
 * - the deploy-time custom resource: the pull-time exclusions registered, the backfill recorded
 *   on Create and on an Update that changes its id only, CloudFormation answered SUCCESS even
 *   when ECR refuses an exclusion or the id names another scope;
 * - the handler: a payload of neither shape refused, naming the field; a missing variable
 *   failing the cold start.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type BackfillRequest,
  backfillMessageBody,
  parseBackfillEvent,
} from '../../../shared/events/backfill.js';
import {
  type CustomResourceResponse,
  DEPLOY_TIME_RESOURCE_TYPE,
  isCustomResourceRequest,
  parseDeployTimeRequest,
} from '../../../shared/events/custom-resource.js';
import { parseScanMessage } from '../../../shared/events/scan-request.js';
import {
  type BackfillDeps,
  type ScanQueue,
  startBackfill,
} from '../../../shared/pipeline/backfill.js';
import { deployTimeStep } from '../../../shared/pipeline/backfill-deploy.js';
import {
  ContinuationError,
  lambdaContinuation,
  runBackfill,
} from '../../../shared/pipeline/backfill-run.js';
import { EcrImageReader } from '../../../shared/registry/ecr-images.js';
import { BackfillStore } from '../../../shared/stores/backfill-store.js';
import { EmbeddedItemTable } from '../../../shared/stores/embedded/item-table.js';
import { type EcrContent, fakeEcr, imageDetail, repository } from '../../support/ecr-service.js';
import { DEPLOYED_ENV, lambdaContext } from '../../support/lambda.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const FUNCTION = 'Bosun-ScannerBackfillFunctionA75FD871-AbCdEf123456';
const SCAN_ROLE = `arn:aws:iam::${ACCOUNT}:role/Bosun-ScannerScanRole645F8743-1A2B3C4D5E6F`;
const PROVENANCE_ROLE = `arn:aws:iam::${ACCOUNT}:role/Bosun-ScannerProvenanceRole-9Z8Y7X6W5V4U`;
const digest = (r: number, n: number) =>
  `sha256:${r.toString(16).padStart(8, '0')}${n.toString(16).padStart(56, '0')}`;

/** 24 images in 2 repositories of `team-a/`, 3 in one outside it. */
function registry(): EcrContent {
  const sizes: [string, number][] = [
    ['team-a/api', 14],
    ['team-a/web', 10],
    ['team-b/job', 3],
  ];
  return {
    repositories: sizes.map(([name]) => repository(ACCOUNT, REGION, name)),
    images: sizes.flatMap(([name, size], r) =>
      Array.from({ length: size }, (_, n) =>
        imageDetail(ACCOUNT, name, digest(r + 1, n), n === 0 ? { imageTags: ['latest'] } : {}),
      ),
    ),
    exclusions: [],
  };
}

interface Logged {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

function setup(now: () => number = Date.now) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-backfill-fn-'));
  const ecr = fakeEcr(registry(), { region: REGION });
  const sent: string[] = [];
  const queue: ScanQueue = {
    async send(bodies) {
      sent.push(...bodies);
    },
  };
  const logged: Logged[] = [];
  const log = {
    info: (message: string, fields: Record<string, unknown>) =>
      logged.push({ level: 'info', message, fields }),
    warn: (message: string, fields: Record<string, unknown>) =>
      logged.push({ level: 'warn', message, fields }),
    error: (message: string, fields: Record<string, unknown>) =>
      logged.push({ level: 'error', message, fields }),
  };
  const deps: BackfillDeps = {
    store: new BackfillStore(EmbeddedItemTable.open(dir, 'images')),
    ecr: new EcrImageReader(ecr.ecr, { pageSize: 5, ratePerSecond: 1e6 }),
    queue,
    region: REGION,
    log,
    now,
  };
  const queued = () => sent.map((b) => parseScanMessage(b)?.digest ?? '').sort();
  return { deps, ecr, queued, logged, log };
}

interface Invocation {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly payload: string;
}

/**
 * A real LambdaClient answered as Lambda answers Invoke with InvocationType Event: 202 and an
 * empty body once the event is queued (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
 */
function fakeLambda(status = 202) {
  const invocations: Invocation[] = [];
  const requestHandler = {
    async handle(request: {
      method: string;
      path: string;
      headers: Record<string, string>;
      body?: string | Uint8Array;
    }) {
      const body = request.body ?? '';
      invocations.push({
        method: request.method,
        path: request.path,
        headers: request.headers,
        payload: typeof body === 'string' ? body : new TextDecoder().decode(body),
      });
      return {
        response: {
          statusCode: status,
          headers: { 'x-amzn-requestid': 'c6af9ac6-7b61-11e6-9a41-93e812345678' },
          body: new Uint8Array(),
        },
      };
    },
  };
  const lambda = new LambdaClient({
    region: REGION,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    maxAttempts: 1,
    requestHandler: requestHandler as unknown as LambdaClientConfig['requestHandler'],
  });
  return { lambda, invocations };
}

describe('an invocation with the backfill message', () => {
  it('continues itself by an Event invocation with the same message until done, each image queued once', async () => {
    // A clock that passes 100 ms at every reading: each run's deadline falls within it.
    let t = Date.parse('2026-03-01T00:00:00Z');
    const { deps, queued, ecr } = setup(() => (t += 100));
    const { lambda, invocations } = fakeLambda();
    const continuation = lambdaContinuation(lambda, FUNCTION);
    let request: BackfillRequest = parseBackfillEvent(
      JSON.parse(backfillMessageBody({ id: 'initial', prefixes: ['team-a/'] })),
    );
    const runs = [];
    for (let i = 0; i < 50; i++) {
      const run = await runBackfill(deps, continuation, request, t + 2_000);
      runs.push(run);
      if (!run.continued) break;
      const last = invocations.at(-1) as Invocation;
      expect(last.method).toBe('POST');
      expect(last.path).toBe(`/2015-03-31/functions/${FUNCTION}/invocations`);
      expect(last.headers['x-amz-invocation-type']).toBe('Event');
      // The next invocation is what Lambda delivers: the documented message, scope and all.
      request = parseBackfillEvent(JSON.parse(last.payload));
      expect(request).toEqual({ id: 'initial', prefixes: ['team-a/'] });
    }
    expect(runs.length).toBeGreaterThan(2);
    expect(runs.at(-1)?.result).toMatchObject({ stop: 'done', phase: 'DONE' });
    expect(invocations).toHaveLength(runs.length - 1);
    const expected = registry()
      .images.filter((i) => i.repositoryName?.startsWith('team-a/'))
      .map((i) => i.imageDigest)
      .sort();
    expect(queued()).toEqual(expected);
    // Each run's delta is what it queued; together, the whole backfill.
    expect(runs.reduce((n, r) => n + r.delta.queued, 0)).toBe(24);
    expect(ecr.calls.filter((c) => c.action === 'DescribeRepositories')).toHaveLength(1);
  });

  it('does not continue a run that could not move before its deadline, nor a done backfill', async () => {
    const { deps, logged } = setup();
    const { lambda, invocations } = fakeLambda();
    const continuation = lambdaContinuation(lambda, FUNCTION);
    const stuck = await runBackfill(deps, continuation, { id: 'late' }, Date.now() - 1);
    expect(stuck).toMatchObject({ continued: false, result: { stop: 'deadline' } });
    expect(logged.map((l) => l.message)).toContain(
      'backfill made no progress before its deadline; not continued',
    );
    const done = await runBackfill(deps, continuation, { id: 'late' }, Date.now() + 60_000);
    expect(done).toMatchObject({ continued: false, result: { stop: 'done' } });
    expect(done.delta.queued).toBe(27);
    const again = await runBackfill(deps, continuation, { id: 'late' }, Date.now() + 60_000);
    expect(again).toMatchObject({ continued: false, delta: { queued: 0 } });
    expect(invocations).toEqual([]);
  });

  it('fails when Lambda does not accept the continuation', async () => {
    let t = Date.parse('2026-03-01T00:00:00Z');
    const { deps } = setup(() => (t += 100));
    const { lambda } = fakeLambda(200);
    await expect(
      runBackfill(deps, lambdaContinuation(lambda, FUNCTION), { id: 'x' }, t + 2_000),
    ).rejects.toThrow(ContinuationError);
  });
});

// The request CloudFormation sends a custom resource's Lambda function:
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html
let responseUrl = '';
const responses: { headers: IncomingHttpHeaders; body: CustomResourceResponse }[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    responses.push({
      headers: req.headers,
      body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as CustomResourceResponse,
    });
    res.writeHead(200).end();
  });
});
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  responseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cloudformation-custom-resource-response-useast1/response?X-Amz-Signature=abc`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function cfnRequest(
  type: 'Create' | 'Update' | 'Delete',
  properties: Record<string, unknown>,
  old?: Record<string, unknown>,
): unknown {
  const serviceToken = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${FUNCTION}`;
  return {
    RequestType: type,
    ServiceToken: serviceToken,
    ResponseURL: responseUrl,
    StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Bosun/5b3d8e50-1a2b-11f0-9c3d-0a1b2c3d4e5f`,
    RequestId: crypto.randomUUID(),
    LogicalResourceId: 'ScannerDeployTime807F4FED',
    ResourceType: DEPLOY_TIME_RESOURCE_TYPE,
    ...(type === 'Create' ? {} : { PhysicalResourceId: 'ScannerDeployTime807F4FED' }),
    ResourceProperties: { ServiceToken: serviceToken, ...properties },
    ...(old === undefined ? {} : { OldResourceProperties: { ServiceToken: serviceToken, ...old } }),
  };
}

const INITIAL = {
  BackfillId: 'initial',
  Prefixes: ['team-a/'],
  ExcludedPrincipals: [SCAN_ROLE],
};

describe('the deploy-time custom resource', () => {
  it('is told apart from the backfill message', () => {
    expect(isCustomResourceRequest(cfnRequest('Create', INITIAL))).toBe(true);
    expect(isCustomResourceRequest({ version: 1, backfill: { id: 'initial' } })).toBe(false);
    expect(() => parseDeployTimeRequest({ RequestType: 'Create', ResponseURL: 'x' })).toThrow(
      /invalid CloudFormation custom resource event: ResponseURL/,
    );
  });

  it('on Create registers the exclusions, records the backfill and answers SUCCESS with an empty Content-Type', async () => {
    const { deps, ecr, log } = setup();
    const outcome = await deployTimeStep(
      { backfill: deps, ecr: ecr.ecr, log },
      parseDeployTimeRequest(
        cfnRequest('Create', { ...INITIAL, ExcludedPrincipals: [SCAN_ROLE, PROVENANCE_ROLE] }),
      ),
    );
    expect(ecr.content.exclusions).toEqual([SCAN_ROLE, PROVENANCE_ROLE]);
    expect(outcome.backfill).toEqual({ id: 'initial', prefixes: ['team-a/'] });
    expect((await deps.store.status('initial'))?.phase).toBe('LISTING');
    const answered = responses.at(-1);
    expect(answered?.headers['content-type']).toBe('');
    expect(answered?.body).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'ScannerDeployTime807F4FED',
      LogicalResourceId: 'ScannerDeployTime807F4FED',
      Data: { Exclusions: 'registered,registered', BackfillId: 'initial' },
    });
    // Nothing is read from ECR's images before CloudFormation has its answer.
    expect(ecr.calls.map((c) => c.action)).not.toContain('DescribeImages');
  });

  it('on an Update with the same id starts nothing, and on a new id starts that backfill', async () => {
    const { deps, ecr, log, logged } = setup();
    const step = (request: unknown) =>
      deployTimeStep({ backfill: deps, ecr: ecr.ecr, log }, parseDeployTimeRequest(request));
    await step(cfnRequest('Create', INITIAL));
    const same = await step(
      cfnRequest(
        'Update',
        { ...INITIAL, Prefixes: ['team-a/', 'team-b/'], ExcludedPrincipals: [SCAN_ROLE] },
        INITIAL,
      ),
    );
    expect(same.backfill).toBeUndefined();
    expect(same.response.Status).toBe('SUCCESS');
    expect(logged.map((l) => l.message)).toContain(
      'deploy-time backfill not started again: its id did not change',
    );
    expect((await deps.store.status('initial'))?.scope).toEqual({ prefixes: ['team-a/'] });
    // The exclusion was already there: listed, not registered again.
    expect(same.response.Data).toEqual({ Exclusions: 'present' });

    const second = await step(cfnRequest('Update', { ...INITIAL, BackfillId: 'second' }, INITIAL));
    expect(second.backfill).toEqual({ id: 'second', prefixes: ['team-a/'] });
    expect(await deps.store.status('second')).toBeDefined();
    const deleted = await step(cfnRequest('Delete', INITIAL));
    expect(deleted).toEqual({
      response: expect.objectContaining({ Status: 'SUCCESS', Data: {} }),
    });
  });

  it('answers SUCCESS when ECR refuses an exclusion and when the id names another scope', async () => {
    const { deps, ecr, log, logged } = setup();
    ecr.inject.push({
      action: 'ListPullTimeUpdateExclusions',
      type: 'AccessDeniedException',
      message: `User: ${SCAN_ROLE} is not authorized to perform: ecr:ListPullTimeUpdateExclusions`,
    });
    // A retained images table holds an `initial` of another scope, from an earlier stack.
    await startBackfill(deps, { id: 'initial', repositories: ['team-b/job'] });
    const outcome = await deployTimeStep(
      { backfill: deps, ecr: ecr.ecr, log },
      parseDeployTimeRequest(cfnRequest('Create', INITIAL)),
    );
    expect(outcome.backfill).toBeUndefined();
    expect(outcome.response).toMatchObject({
      Status: 'SUCCESS',
      Data: { Exclusions: 'failed', BackfillId: 'initial' },
    });
    expect(logged.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'pull-time exclusion not registered',
      'deploy-time backfill not started: the id names another scope',
    ]);
  });
});

describe('the handler', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('refuses a payload that is neither the message nor a custom resource request, naming the field', async () => {
    vi.resetModules();
    for (const [name, value] of Object.entries(DEPLOYED_ENV)) vi.stubEnv(name, value);
    const { handler } = await import('../../../functions/backfill/index.js');
    await expect(
      handler({ version: 1, backfill: { id: 'x', repository: ['a'] } }, lambdaContext('backfill')),
    ).rejects.toThrow(/invalid backfill event: backfill: Unrecognized key: "repository"/);
  });

  it('fails at cold start, naming the missing variable', async () => {
    vi.resetModules();
    for (const [name, value] of Object.entries(DEPLOYED_ENV)) vi.stubEnv(name, value);
    vi.stubEnv('BOSUN_SCAN_QUEUE_URL', '');
    await expect(import('../../../functions/backfill/index.js')).rejects.toThrow(
      'BOSUN_SCAN_QUEUE_URL is not set',
    );
  });
});
