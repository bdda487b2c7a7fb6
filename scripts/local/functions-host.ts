/**
 * Runs Bosun's Lambda handlers on the local stack, standing in for what AWS provides around
 * them: the registry webhook's function URL (an HTTP server on loopback, which the local
 * registry's notification sink forwards to), and the SQS event source mappings of the scan,
 * rescan and feed-sync queues (long polls that invoke the handler with the batch and delete
 * what it did not report as failed), and, with provenance on, EventBridge's invocations of the
 * provenance function (`invokeProvenance`) and of the audit function (`invokeAudit`: an ECS task
 * state change, its reconcile schedule). Each handler gets the environment the synthesized template
 * gives its function. The backfill function runs when invoked (`invokeBackfill`, with the
 * documented message or CloudFormation's custom resource request), and its continuations, the
 * Event invocations it sends itself, run it again here: Lambda's Invoke is answered at the SDK
 * client as Lambda answers it (202, the event queued).
 *
 * Secrets Manager has no local emulator: its client is faked at the SDK boundary with the
 * shared secret the local registry sends.
 *
 * `tsx scripts/local/functions-host.ts` runs it until interrupted; BOSUN_* variables set in its
 * environment override the template's (bench:pipeline points it at an isolated deployment), and
 * BOSUN_HOST_PROVENANCE=1 turns provenance on.
 */

import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  LambdaFunctionURLEvent,
  LambdaFunctionURLResult,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { ENV_VARS } from '../../shared/config/env.js';
import type { AuditOutcome } from '../../shared/pipeline/audit.js';
import type { ReconcileOutcome } from '../../shared/pipeline/audit-run.js';
import type { ReverifySummary } from '../../shared/pipeline/provenance.js';
import { API_URL_FILE, startApiHost } from './api-host.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, WEBHOOK_FORWARD_FILE } from './services.js';
import {
  apiEnv,
  backfillEnv,
  DEFAULT_LOCAL_DIR,
  functionEnv,
  type LocalStackState,
  readState,
} from './stack.js';

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
type UrlHandler = (
  event: LambdaFunctionURLEvent,
  context: Context,
) => Promise<LambdaFunctionURLResult>;

const QUEUE_FUNCTIONS = ['scan', 'rescan', 'feed-sync'] as const;
type QueueFunction = (typeof QUEUE_FUNCTIONS)[number];

export interface FunctionsHostOptions {
  /** Extra environment for every handler (e.g. BOSUN_REGISTRY_ENDPOINTS in a test). */
  readonly env?: Record<string, string>;
  /**
   * Check provenance: the template's BOSUN_PROVENANCE_* variables (its policy is the object
   * LOCAL_PROVENANCE_POLICY in fauxqs) go to the scan and provenance functions, and `invoke`
   * runs the provenance function. Off by default: a policy asks every image for signatures.
   * Setting a BOSUN_PROVENANCE_POLICY* variable in `env` turns it on too.
   */
  readonly provenance?: boolean;
  /**
   * Whether the local registry's push notifications come to this host's webhook. @default true.
   * A test that sends ECR's events itself turns it off, so that its pushes are not also scanned
   * under the local registry's own name (and another host's forwarding is left alone).
   */
  readonly forwardRegistryNotifications?: boolean;
  /** Invocation log; defaults to one JSON line per invocation on stdout. */
  readonly log?: (entry: Record<string, unknown>) => void;
}

export interface FunctionsHost {
  /** The webhook's local function URL. */
  readonly url: string;
  /**
   * The read API's local URL with its stage (`http://127.0.0.1:N/v1/`, as the stack output
   * `ApiUrl`): the api function behind a stand-in for API Gateway (scripts/local/api-host.ts).
   */
  readonly apiUrl: string;
  /**
   * Runs the provenance function with an EventBridge event (its schedule's, an S3 "Object
   * Created", a Parameter Store change), as EventBridge would; only with provenance on.
   */
  invokeProvenance(event: unknown): Promise<ReverifySummary>;
  /**
   * Runs the audit function with an EventBridge event (an ECS "Task State Change", its reconcile
   * schedule's "Scheduled Event"), as EventBridge would. Its handler is loaded on the first
   * call, with the template's audit variables (a template from before the audit function has
   * none: `env` then gives BOSUN_AUDIT_SOURCES).
   */
  invokeAudit(event: unknown): Promise<AuditOutcome | ReconcileOutcome>;
  /**
   * Runs the backfill function with `event` (the backfill message, or a CloudFormation custom
   * resource request), as `aws lambda invoke` or CloudFormation would, and returns what it
   * returned. Continuations it asks for run after it, as Lambda would run them.
   */
  invokeBackfill(event: unknown): Promise<unknown>;
  /** Resolves when no backfill invocation (a continuation included) is running. */
  backfillsSettled(): Promise<void>;
  stop(): Promise<void>;
}

function context(name: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `bosun-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:bosun-${name}`,
    memoryLimitInMB: '2048',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/bosun-${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const forwardFile = (state: LocalStackState) => path.join(state.dir, WEBHOOK_FORWARD_FILE);

const PROVENANCE_VARIABLES = Object.values(ENV_VARS).filter((v) =>
  v.startsWith('BOSUN_PROVENANCE_'),
);
const POLICY_VARIABLES: readonly string[] = [
  ENV_VARS.provenancePolicy,
  ENV_VARS.provenancePolicyS3,
  ENV_VARS.provenancePolicySsm,
];

export async function startFunctionsHost(
  state: LocalStackState,
  options: FunctionsHostOptions = {},
): Promise<FunctionsHost> {
  const log = options.log ?? ((e) => console.log(JSON.stringify(e)));
  const overrides = options.env ?? {};
  const provenanceOn =
    options.provenance === true ||
    POLICY_VARIABLES.some((v) => overrides[v] !== undefined && overrides[v] !== '');
  const envs: Record<string, Record<string, string>> = Object.fromEntries(
    [...QUEUE_FUNCTIONS, 'registry-webhook', ...(provenanceOn ? ['provenance'] : [])].map((f) => [
      f,
      { ...functionEnv(state, f as QueueFunction, { provenance: provenanceOn }), ...overrides },
    ]),
  );
  envs.backfill = { ...backfillEnv(state), ...overrides };
  envs.api = { ...apiEnv(state), ...overrides };
  // A host started earlier in this process may have left provenance on.
  if (!provenanceOn)
    for (const name of PROVENANCE_VARIABLES) if (!(name in overrides)) delete process.env[name];
  // The handlers read their configuration when their module loads: one shared environment
  // (the functions' variables agree where they overlap), the registry host for the webhook.
  for (const env of Object.values(envs)) Object.assign(process.env, env);
  // The template names one registry with its secret; locally that secret is the one the local
  // registry sends, and the registry is the local one (or BOSUN_WEBHOOK_REGISTRIES, a test's).
  const secretArns = (envs['registry-webhook']?.BOSUN_WEBHOOK_SECRETS ?? '')
    .split(',')
    .map((pair) => pair.split('=', 2)[1] ?? '');
  const secretArn = secretArns[0];
  if (secretArn === undefined || secretArn === '')
    throw new Error('the template gives the webhook no BOSUN_WEBHOOK_SECRETS');
  const registry =
    process.env.BOSUN_WEBHOOK_REGISTRIES ?? `127.0.0.1:${state.services.registry.port}`;
  process.env.BOSUN_WEBHOOK_SECRETS = `${registry}=${secretArn}`;
  const originalSend = SecretsManagerClient.prototype.send;
  SecretsManagerClient.prototype.send = async function send(command: unknown) {
    if (command instanceof GetSecretValueCommand && command.input.SecretId === secretArn) {
      // Never rotated: there is no AWSPREVIOUS version.
      if (command.input.VersionStage === 'AWSPREVIOUS')
        throw Object.assign(new Error('no AWSPREVIOUS version'), {
          name: 'ResourceNotFoundException',
        });
      return { SecretString: state.notificationSecret, CreatedDate: new Date(0), $metadata: {} };
    }
    throw new Error('local Secrets Manager stand-in: only the webhook secret exists');
  } as typeof originalSend;

  const handlers: Record<QueueFunction, SqsHandler> = {
    scan: (await import('../../functions/scan/index.js')).handler as unknown as SqsHandler,
    rescan: (await import('../../functions/rescan/index.js')).handler as unknown as SqsHandler,
    'feed-sync': (await import('../../functions/feed-sync/index.js'))
      .handler as unknown as SqsHandler,
  };
  const webhook = (await import('../../functions/registry-webhook/index.js'))
    .handler as unknown as UrlHandler;
  const backfill = (await import('../../functions/backfill/index.js')).handler as unknown as (
    event: unknown,
    context: Context,
  ) => Promise<unknown>;
  const api = (await import('../../functions/api/index.js')).handler as unknown as (
    event: APIGatewayProxyEvent,
    context: Context,
  ) => Promise<APIGatewayProxyResult>;
  // API Gateway's integration timeout is 29 seconds.
  const apiHost = await startApiHost((event) => api(event, context('api', 29_000)), { log });
  const backfillRuns = new Set<Promise<unknown>>();
  /** One invocation of the backfill function, as Lambda runs it: 15 minutes at most. */
  const runBackfill = (event: unknown): Promise<unknown> => {
    const started = Date.now();
    const run = backfill(event, context('backfill', 900_000)).then(
      (result) => {
        log({ function: 'backfill', ms: Date.now() - started });
        return result;
      },
      (error: Error) => {
        log({ function: 'backfill', error: error.message });
        throw error;
      },
    );
    backfillRuns.add(run);
    const forget = () => backfillRuns.delete(run);
    run.then(forget, forget);
    return run;
  };
  const originalInvoke = LambdaClient.prototype.send;
  LambdaClient.prototype.send = async function send(
    this: LambdaClient,
    command: unknown,
    ...rest: unknown[]
  ) {
    if (
      command instanceof InvokeCommand &&
      command.input.FunctionName === 'bosun-backfill' &&
      command.input.InvocationType === 'Event'
    ) {
      const body = command.input.Payload;
      const payload = JSON.parse(
        typeof body === 'string' ? body : new TextDecoder().decode(body as Uint8Array),
      ) as unknown;
      // Queued, as Lambda queues an event: it runs after this invocation's turn.
      setImmediate(() => runBackfill(payload).catch(() => undefined));
      return { StatusCode: 202, $metadata: { httpStatusCode: 202 } };
    }
    return (originalInvoke as (...args: unknown[]) => Promise<unknown>).call(
      this,
      command,
      ...rest,
    );
  } as typeof originalInvoke;
  const provenance = provenanceOn
    ? ((await import('../../functions/provenance/index.js')).handler as unknown as (
        event: unknown,
        context: Context,
      ) => Promise<ReverifySummary>)
    : undefined;

  type AuditHandler = (
    event: unknown,
    context: Context,
  ) => Promise<AuditOutcome | ReconcileOutcome>;
  let audit: AuditHandler | undefined;
  const auditEnv = state.local.functions.audit;

  const sqs = new SQSClient({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: state.services.fauxqs.endpoint,
    useQueueUrlAsEndpoint: false,
  });
  const queueUrl: Record<QueueFunction, string | undefined> = {
    scan: envs['registry-webhook']?.BOSUN_SCAN_QUEUE_URL,
    rescan: envs['feed-sync']?.BOSUN_RESCAN_QUEUE_URL,
    'feed-sync': envs['feed-sync']?.BOSUN_FEED_SYNC_QUEUE_URL,
  };
  let running = true;
  const consumers = QUEUE_FUNCTIONS.map(async (name) => {
    const url = queueUrl[name];
    if (url === undefined) throw new Error(`no queue URL for ${name} in the template`);
    while (running) {
      const received = await sqs
        .send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
          }),
        )
        .catch(async (error: Error) => {
          if (running) log({ function: name, error: `receive failed: ${error.message}` });
          // An unreachable endpoint is tried again after a pause, not in a tight loop.
          await new Promise((r) => setTimeout(r, 1_000));
          return { Messages: [] };
        });
      const messages = received.Messages ?? [];
      if (messages.length === 0) continue;
      if (!running) {
        // Received while stopping: back to the queue at once, for whoever consumes next.
        await settle(url, [], messages, 0);
        continue;
      }
      const event: SQSEvent = {
        Records: messages.map((m) => ({
          messageId: m.MessageId ?? '',
          receiptHandle: m.ReceiptHandle ?? '',
          body: m.Body ?? '',
          attributes: (m.Attributes ?? {}) as SQSEvent['Records'][number]['attributes'],
          messageAttributes: {},
          md5OfBody: m.MD5OfBody ?? '',
          eventSource: 'aws:sqs',
          eventSourceARN: `arn:aws:sqs:${LOCAL_REGION}:000000000000:${name}`,
          awsRegion: LOCAL_REGION,
        })),
      };
      const started = Date.now();
      let failed = new Set<string>();
      try {
        const response = await handlers[name](event, context(name, 300_000));
        failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      } catch (error) {
        failed = new Set(event.Records.map((r) => r.messageId));
        log({ function: name, error: (error as Error).message });
      }
      log({
        function: name,
        records: messages.length,
        failed: failed.size,
        ms: Date.now() - started,
      });
      // A failed record comes back after a short while, as after its visibility timeout.
      await settle(
        url,
        messages.filter((m) => !failed.has(m.MessageId ?? '')),
        messages.filter((m) => failed.has(m.MessageId ?? '')),
        5,
      );
    }
  });

  /** Deletes what was handled; makes the rest visible again after `retryAfter` seconds. */
  async function settle(url: string, done: Message[], retry: Message[], retryAfter: number) {
    try {
      if (done.length > 0)
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
          }),
        );
      if (retry.length > 0)
        await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: url,
            Entries: retry.map((m, i) => ({
              Id: String(i),
              ReceiptHandle: m.ReceiptHandle ?? '',
              VisibilityTimeout: retryAfter,
            })),
          }),
        );
    } catch (error) {
      // The messages come back after their visibility timeout; the consumer goes on.
      log({ error: `settling messages failed: ${(error as Error).message}` });
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.join(',') : (v ?? ''),
        ]),
      );
      const now = new Date();
      const event: LambdaFunctionURLEvent = {
        version: '2.0',
        routeKey: '$default',
        rawPath: req.url ?? '/',
        rawQueryString: '',
        headers,
        requestContext: {
          accountId: 'anonymous',
          apiId: 'local',
          domainName: 'localhost',
          domainPrefix: 'local',
          http: {
            method: req.method ?? 'GET',
            path: req.url ?? '/',
            protocol: 'HTTP/1.1',
            sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
            userAgent: headers['user-agent'] ?? '',
          },
          requestId: crypto.randomUUID(),
          routeKey: '$default',
          stage: '$default',
          time: now.toUTCString(),
          timeEpoch: now.getTime(),
        },
        body,
        isBase64Encoded: false,
      };
      webhook(event, context('registry-webhook', 30_000)).then(
        (result) => {
          const out = typeof result === 'string' ? { statusCode: 200, body: result } : result;
          log({ function: 'registry-webhook', status: out.statusCode });
          res.writeHead(out.statusCode ?? 200, { 'content-type': 'application/json' });
          res.end(out.body ?? '');
        },
        (error: Error) => {
          log({ function: 'registry-webhook', error: error.message });
          res.writeHead(500).end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const forwarding = options.forwardRegistryNotifications ?? true;
  if (forwarding) writeFileSync(forwardFile(state), url);

  return {
    url,
    apiUrl: apiHost.url,
    async invokeProvenance(event) {
      if (provenance === undefined)
        throw new Error(
          'provenance is off in this functions host (start it with provenance: true)',
        );
      const started = Date.now();
      const summary = await provenance(event, context('provenance', 900_000));
      log({ function: 'provenance', ms: Date.now() - started, ...summary });
      return summary;
    },
    invokeBackfill: (event) => runBackfill(event),
    async backfillsSettled() {
      while (backfillRuns.size > 0) await Promise.allSettled([...backfillRuns]);
    },
    async invokeAudit(event) {
      if (audit === undefined) {
        // Its variables over the shared environment, the test's over both.
        for (const [name, value] of Object.entries({ ...auditEnv, ...overrides }))
          process.env[name] = value;
        audit = (await import('../../functions/audit/index.js')).handler as unknown as AuditHandler;
      }
      const started = Date.now();
      const outcome = await audit(event, context('audit', 600_000));
      log({ function: 'audit', ms: Date.now() - started });
      return outcome;
    },
    async stop() {
      running = false;
      while (backfillRuns.size > 0) await Promise.allSettled([...backfillRuns]);
      LambdaClient.prototype.send = originalInvoke;
      if (forwarding) rmSync(forwardFile(state), { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await apiHost.stop();
      await Promise.allSettled(consumers);
      sqs.destroy();
      SecretsManagerClient.prototype.send = originalSend;
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const dir = process.env.BOSUN_LOCAL_DIR ?? DEFAULT_LOCAL_DIR;
  const state = readState(dir);
  if (state === undefined) {
    console.error(`no local stack in ${dir}; run npm run local:up`);
    process.exit(2);
  }
  // BOSUN_* variables of this process override the template's (an isolated deployment's tables).
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[0].startsWith('BOSUN_') &&
        !['BOSUN_LOCAL_DIR', 'BOSUN_HOST_QUIET', 'BOSUN_HOST_PROVENANCE'].includes(e[0]) &&
        e[1] !== undefined,
    ),
  );
  const host = await startFunctionsHost(state, {
    env: { ...env, POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO' },
    ...(process.env.BOSUN_HOST_QUIET === '1' ? { log: () => undefined } : {}),
    // BOSUN_HOST_PROVENANCE=1: the template's provenance policy (LOCAL_PROVENANCE_POLICY).
    provenance: process.env.BOSUN_HOST_PROVENANCE === '1',
  });
  // Recorded for local:status and `bosun remote --api-url "$(cat <dir>/api-url)"`.
  const apiUrlFile = path.join(state.dir, API_URL_FILE);
  writeFileSync(apiUrlFile, host.apiUrl);
  console.log(
    JSON.stringify({ message: 'functions host running', webhook: host.url, api: host.apiUrl }),
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.on(signal, () => {
      rmSync(apiUrlFile, { force: true });
      host.stop().then(() => process.exit(0));
    });
}
