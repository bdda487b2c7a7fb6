/**
 * The local stack as one unit: start (idempotent), health check, stop (exactly what was
 * started). Its state lives in `<dir>/state.json`; several stacks can run side by side in
 * different folders.
 */
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { buildApp, STACK_NAME } from '../../infra/build-app.js';
import { ENV_VARS } from '../../shared/config/env.js';
import {
  checkService,
  LocalServiceError,
  PROJECT_ROOT,
  type ServiceName,
  type ServiceState,
  startServices,
  stopService,
} from './services.js';
import { createLocalResources, type LocalResources, readTemplate } from './template.js';

export interface LocalStackState {
  readonly version: 1;
  readonly dir: string;
  readonly startedAt: string;
  readonly templateFile: string;
  readonly notificationSecret: string;
  readonly registryEventsFile: string;
  readonly services: Record<ServiceName, ServiceState>;
  readonly local: LocalResources;
}

export const DEFAULT_LOCAL_DIR = path.join(PROJECT_ROOT, '.local', 'stack');
export const DEFAULT_TOOLS_DIR = path.join(PROJECT_ROOT, '.local', 'tools');

export class LocalStackUnhealthyError extends Error {
  override readonly name = 'LocalStackUnhealthyError';
  constructor(readonly failures: readonly LocalServiceError[]) {
    super(`local stack unhealthy: ${failures.map((f) => f.message).join('; ')}`);
  }
}

const stateFile = (dir: string) => path.join(dir, 'state.json');

export function readState(dir: string): LocalStackState | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LocalStackState;
}

/**
 * The registry the local stack's template configures the webhook for; the functions host
 * binds its secret to the local registry's host and port, known only once it runs.
 */
export const LOCAL_WEBHOOK_REGISTRY = '127.0.0.1:5000';

/**
 * Where the local stack's provenance policy is read from: an object in a local S3 bucket
 * (fauxqs), which the local stack creates empty. The template gives the scan and provenance
 * functions its variables as in AWS; the functions host passes them on only when provenance is
 * turned on (FunctionsHostOptions.provenance), since a policy asks every pushed image for
 * signatures. Turning it on: put a policy at this key (and any trust material in that bucket),
 * then start the functions host with `provenance: true` (`env` may add
 * BOSUN_PROVENANCE_TRUSTED_ROOTS / _NOTATION_TRUST_STORE / _MAX_AGE_HOURS).
 */
export const LOCAL_PROVENANCE_POLICY = { bucket: 'bosun-local-provenance', key: 'policy.yaml' };

/**
 * Synthesizes the app in-process into `outdir` and returns the stack's template file. Lambda
 * bundling is skipped: the local stack needs the resources, not the function code. The webhook
 * is built (it is only with registries configured): the local registry notifies it; so is
 * provenance, with its policy in a local bucket (LOCAL_PROVENANCE_POLICY).
 */
export function synthTemplate(outdir: string): string {
  const { app, stack } = buildApp(
    { outdir, context: { 'aws:cdk:bundling-stacks': [] } },
    {
      scanner: {
        webhookRegistries: [LOCAL_WEBHOOK_REGISTRY],
        provenance: { policy: { s3: LOCAL_PROVENANCE_POLICY } },
      },
    },
  );
  const assembly = app.synth();
  return path.join(assembly.directory, assembly.getStackByName(stack.stackName).templateFile);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * The template `cdk synth` left in `cdk.out`, when it is newer than the code that produces it
 * (`infra/`, `shared/config/`) and has the webhook the local registry notifies, the
 * provenance function and the audit function; otherwise undefined, and the caller synthesizes.
 */
export function currentCdkOutTemplate(projectRoot: string = PROJECT_ROOT): string | undefined {
  const file = path.join(projectRoot, 'cdk.out', `${STACK_NAME}.template.json`);
  if (!existsSync(file)) return undefined;
  const template = readFileSync(file, 'utf8');
  if (
    !['"bosun-registry-webhook"', '"bosun-provenance"', '"bosun-audit"'].every((f) =>
      template.includes(f),
    )
  )
    return undefined;
  const sources = Math.max(
    newestMtime(path.join(projectRoot, 'infra')),
    newestMtime(path.join(projectRoot, 'shared', 'config')),
  );
  return statSync(file).mtimeMs >= sources ? file : undefined;
}

/** Checks every service; throws one error naming each service that failed. */
export async function checkHealth(state: LocalStackState): Promise<void> {
  const results = await Promise.allSettled(
    Object.values(state.services).map((s) => checkService(s)),
  );
  const failures = results.flatMap((r) =>
    r.status === 'rejected'
      ? [
          r.reason instanceof LocalServiceError
            ? r.reason
            : new LocalServiceError('unknown', String(r.reason)),
        ]
      : [],
  );
  if (failures.length > 0) throw new LocalStackUnhealthyError(failures);
}

export interface UpOptions {
  readonly dir?: string;
  readonly toolsDir?: string;
  /**
   * A synthesized template to read. By default, `cdk.out`'s when it is current, else the app
   * is synthesized into `<dir>/cdk.out`.
   */
  readonly templateFile?: string;
}

/**
 * Starts the stack, or returns the running one when it is healthy. A stack whose state file
 * exists but whose services are not all healthy is stopped and started afresh.
 */
export async function up(
  options: UpOptions = {},
): Promise<{ state: LocalStackState; reused: boolean }> {
  const dir = path.resolve(options.dir ?? DEFAULT_LOCAL_DIR);
  const toolsDir = path.resolve(options.toolsDir ?? DEFAULT_TOOLS_DIR);
  const existing = readState(dir);
  if (existing !== undefined) {
    try {
      await checkHealth(existing);
      return { state: existing, reused: true };
    } catch {
      await down(dir);
    }
  }
  mkdirSync(dir, { recursive: true });
  const templateFile =
    options.templateFile ?? currentCdkOutTemplate() ?? synthTemplate(path.join(dir, 'cdk.out'));
  const template = readTemplate(templateFile);
  const notificationSecret = randomBytes(24).toString('hex');
  const started = await startServices({ dir, toolsDir, notificationSecret });
  const services = Object.fromEntries(started.map((s) => [s.name, s])) as Record<
    ServiceName,
    ServiceState
  >;
  const partial = {
    version: 1 as const,
    dir,
    startedAt: new Date().toISOString(),
    templateFile,
    notificationSecret,
  };
  // Record the processes before creating resources, so that `down` can stop them whatever happens next.
  writeFileSync(
    stateFile(dir),
    JSON.stringify({ ...partial, services, local: { resources: {}, functions: {} } }, null, 2),
  );
  try {
    const local = await createLocalResources(template, {
      dynamodb: services.dynamodb.endpoint,
      fauxqs: services.fauxqs.endpoint,
    });
    const state: LocalStackState = {
      ...partial,
      registryEventsFile: path.join(dir, 'registry-events.jsonl'),
      services,
      local,
    };
    writeFileSync(stateFile(dir), JSON.stringify(state, null, 2));
    return { state, reused: false };
  } catch (error) {
    await down(dir);
    throw error;
  }
}

/** Stops the processes recorded in `<dir>/state.json`, and only those. */
export async function down(dir: string = DEFAULT_LOCAL_DIR): Promise<ServiceState[]> {
  const state = readState(path.resolve(dir));
  if (state === undefined) return [];
  const services = Object.values(state.services);
  await Promise.all(services.map((s) => stopService(s)));
  rmSync(stateFile(path.resolve(dir)), { force: true });
  return services;
}

/** The environment a function gets locally, for running its handler in this process. */
export function functionEnv(
  state: LocalStackState,
  fn: 'scan' | 'rescan' | 'feed-sync' | 'registry-webhook' | 'provenance' | 'audit' | 'api',
  options: { readonly provenance?: boolean } = {},
): Record<string, string> {
  const env = state.local.functions[fn];
  if (env === undefined)
    throw new Error(
      `the template has no function "${fn}" (looked for POWERTOOLS_SERVICE_NAME bosun-${fn})`,
    );
  // The local template reads its policy from a bucket a test fills: off unless asked, since a
  // policy asks every image for signatures (and an empty bucket fails the cold start).
  if (options.provenance === true || fn === 'provenance') return env;
  return Object.fromEntries(
    Object.entries(env).filter(([name]) => !name.startsWith('BOSUN_PROVENANCE_')),
  );
}

/**
 * The backfill function's local environment. A local stack started before the function existed
 * has none in its state: its variables are then the same resources' as the scan's (the images
 * table) and the webhook's (the scan queue), with the template's names.
 */
export function backfillEnv(state: LocalStackState): Record<string, string> {
  const own = state.local.functions.backfill;
  if (own !== undefined) return own;
  const scan = functionEnv(state, 'scan');
  const webhook = functionEnv(state, 'registry-webhook');
  const pick = (env: Record<string, string>, name: string) =>
    env[name] === undefined ? {} : { [name]: env[name] };
  const common = Object.fromEntries(
    Object.entries(scan).filter(
      ([name]) => !name.startsWith('BOSUN_') || name.endsWith('_ENDPOINT'),
    ),
  );
  return {
    ...common,
    ...pick(scan, ENV_VARS.imagesTable),
    ...pick(webhook, ENV_VARS.scanQueueUrl),
    POWERTOOLS_SERVICE_NAME: 'bosun-backfill',
  };
}

/**
 * The api function's local environment. A local stack started before the function existed has
 * none in its state: its variables are then the scan's tables, bucket and rescan queue, with the
 * template's names.
 */
export function apiEnv(state: LocalStackState): Record<string, string> {
  const own = state.local.functions.api;
  if (own !== undefined) return own;
  const scan = functionEnv(state, 'scan');
  const read: string[] = [
    ENV_VARS.imagesTable,
    ENV_VARS.findingsTable,
    ENV_VARS.advisoriesTable,
    ENV_VARS.reportsBucket,
    // Suppressions and VEX documents queue rescans of what they cover.
    ENV_VARS.rescanQueueUrl,
  ];
  return {
    ...Object.fromEntries(
      Object.entries(scan).filter(
        ([name]) => !name.startsWith('BOSUN_') || name.endsWith('_ENDPOINT') || read.includes(name),
      ),
    ),
    POWERTOOLS_SERVICE_NAME: 'bosun-api',
  };
}

export { STACK_NAME };
