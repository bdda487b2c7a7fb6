/**
 * Registry credentials as the Docker CLI finds them, so that `bosun` pulls whatever `docker pull`
 * can. The lookup follows docker/cli's cli/config (configfile/file.go, credentials/
 * file_store.go and native_store.go) and the helper protocol of docker-credential-helpers
 * (client/client.go): https://github.com/docker/cli/tree/master/cli/config
 * https://github.com/docker/docker-credential-helpers
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { ECRClient, type ECRClientConfig } from '@aws-sdk/client-ecr';
import * as z from 'zod';
import { describeIssues } from '../zod-issues.js';
import {
  ChainedCredentials,
  type CredentialProvider,
  type Credentials,
  EcrCredentials,
  ecrRegionOf,
  StaticCredentials,
} from './auth.js';
import { RegistryAuthError } from './errors.js';

/** A Docker config file (or DOCKER_AUTH_CONFIG) that cannot be read or parsed. */
export class DockerConfigError extends RegistryAuthError {
  constructor(
    /** The file's path, or `DOCKER_AUTH_CONFIG`. */
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Docker config ${file}: ${reason}`, options);
  }
}

/** A credential helper that is not installed, failed, or answered something unreadable. */
export class CredentialHelperError extends RegistryAuthError {
  constructor(
    /** The program run: `docker-credential-<name>`. */
    readonly helper: string,
    readonly registry: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`credential helper ${helper} (for ${registry}): ${reason}`, options);
  }
}

export interface ProgramOutput {
  /** Exit code; null when a signal ended the program. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program with `stdin` as its input; rejects when it cannot be started (ENOENT). */
export type RunProgram = (
  program: string,
  args: readonly string[],
  stdin: string,
) => Promise<ProgramOutput>;

export interface DockerConfigCredentialsOptions {
  /** DOCKER_CONFIG, DOCKER_AUTH_CONFIG, and PATH for the helpers. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Where `.docker/config.json` is when DOCKER_CONFIG is unset. @default os.homedir() */
  readonly home?: string;
  /** @default a child process with `env` as its environment */
  readonly run?: RunProgram;
}

/** The auths entry, docker/cli's types.AuthConfig (unknown fields are ignored, as Go does). */
const AuthEntry = z.object({
  auth: z.string().nullish(),
  username: z.string().nullish(),
  password: z.string().nullish(),
  identitytoken: z.string().nullish(),
});
const ConfigFile = z.object({
  auths: z.record(z.string(), AuthEntry).nullish(),
  credsStore: z.string().nullish(),
  credHelpers: z.record(z.string(), z.string()).nullish(),
});
// DOCKER_AUTH_CONFIG takes `auths` with `auth` only; Docker rejects any other field.
const EnvAuthConfig = z.strictObject({
  auths: z.record(z.string(), z.strictObject({ auth: z.string().min(1) })).optional(),
});

interface DockerConfig {
  readonly file: string;
  readonly auths: ReadonlyMap<string, Credentials | undefined>;
  readonly credsStore: string | undefined;
  readonly credHelpers: Readonly<Record<string, string>>;
  /** DOCKER_AUTH_CONFIG's entries, looked up before everything else. */
  readonly envAuths: ReadonlyMap<string, Credentials>;
}

/** Docker Hub's credentials are filed under the v1 index URL (configfile's getAuthConfigKey). */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** The key a registry host's credentials have in config.json and in credential helpers. */
export function dockerConfigKey(registry: string): string {
  return DOCKER_HUB_NAMES.has(registry) ? DOCKER_HUB_KEY : registry;
}

/**
 * An `auths` key written as a URL (`https://ghcr.io`, `http://localhost:5000/v2/`), as older
 * `docker login`s stored them, reduced to its host[:port]: credentials/file_store.go's
 * ConvertToHostname. The port is kept as written, as Go's url.Port() does.
 */
export function convertToHostname(key: string): string {
  const scheme = key.indexOf('://');
  const rest = scheme < 0 ? key : key.slice(scheme + 3);
  const authority = rest.split(/[/?#]/, 1)[0] ?? '';
  return scheme < 0 ? authority : authority.slice(authority.lastIndexOf('@') + 1);
}

/** `auth`: base64 of `user:password`, decoded strictly as configfile's decodeAuth does. */
function decodeAuth(file: string, key: string, auth: string): Credentials {
  const fail = (reason: string) =>
    new DockerConfigError(file, `auths[${JSON.stringify(key)}].auth ${reason}`);
  if (auth.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(auth))
    throw fail('is not standard base64');
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw fail('is not base64 of "username:password"');
  // Go's decodeAuth trims NULs that some writers padded passwords with.
  return {
    username: decoded.slice(0, colon),
    password: decoded.slice(colon + 1).replace(/^\0+|\0+$/g, ''),
  };
}

/** An auths entry as credentials; undefined when it holds none (`{}` beside a credsStore). */
function entryCredentials(
  file: string,
  key: string,
  entry: z.infer<typeof AuthEntry>,
): Credentials | undefined {
  // `auth`, when present, replaces username and password (configfile's LoadFromReader).
  const basic =
    entry.auth !== undefined && entry.auth !== null && entry.auth !== ''
      ? decodeAuth(file, key, entry.auth)
      : { username: entry.username ?? '', password: entry.password ?? '' };
  const identityToken = entry.identitytoken ?? '';
  if (identityToken !== '') return { ...basic, identityToken };
  return basic.username === '' && basic.password === '' ? undefined : basic;
}

function parseEnvAuthConfig(value: string | undefined): Map<string, Credentials> {
  const out = new Map<string, Credentials>();
  if (value === undefined || value === '') return out;
  const source = 'DOCKER_AUTH_CONFIG';
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (cause) {
    throw new DockerConfigError(source, `not JSON: ${(cause as Error).message}`, { cause });
  }
  const parsed = EnvAuthConfig.safeParse(json);
  if (!parsed.success) throw new DockerConfigError(source, describeIssues(parsed.error).join('; '));
  for (const [key, { auth }] of Object.entries(parsed.data.auths ?? {}))
    out.set(key, decodeAuth(source, key, auth));
  return out;
}

async function loadDockerConfig(env: NodeJS.ProcessEnv, home: string): Promise<DockerConfig> {
  // config.Dir(): $DOCKER_CONFIG, else ~/.docker.
  const dir =
    env.DOCKER_CONFIG !== undefined && env.DOCKER_CONFIG !== ''
      ? env.DOCKER_CONFIG
      : path.join(home, '.docker');
  const file = path.join(dir, 'config.json');
  const envAuths = parseEnvAuthConfig(env.DOCKER_AUTH_CONFIG);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    // No config file is no credentials; any other failure to read it is an error (config.load).
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT')
      return { file, auths: new Map(), credsStore: undefined, credHelpers: {}, envAuths };
    throw new DockerConfigError(file, `cannot be read: ${(cause as Error).message}`, { cause });
  }
  let json: unknown = {};
  // An empty file is an empty config: Go's decoder stops at EOF without an error.
  if (text.trim() !== '') {
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new DockerConfigError(file, `not JSON: ${(cause as Error).message}`, { cause });
    }
  }
  const parsed = ConfigFile.safeParse(json);
  if (!parsed.success) throw new DockerConfigError(file, describeIssues(parsed.error).join('; '));
  // Every entry is decoded up front, so one bad `auth` fails the file, as in Docker.
  const auths = new Map<string, Credentials | undefined>();
  for (const [key, entry] of Object.entries(parsed.data.auths ?? {}))
    auths.set(key, entryCredentials(file, key, entry));
  return {
    file,
    auths,
    credsStore: parsed.data.credsStore ?? undefined,
    credHelpers: parsed.data.credHelpers ?? {},
    envAuths,
  };
}

/** What a helper answers to `get` (docker-credential-helpers' credentials.Credentials). */
const HelperAnswer = z.object({ Username: z.string().default(''), Secret: z.string().default('') });
// The helper's stdout (exit non-zero) when it has nothing for the server: credentials/error.go.
const NOT_FOUND = 'credentials not found in native keychain';
// A helper's Username for an identity token rather than a password: native_store.go.
const TOKEN_USERNAME = '<token>';

function spawnWith(env: NodeJS.ProcessEnv): RunProgram {
  return (program, args, stdin) =>
    new Promise((resolve, reject) => {
      // The lookup on PATH uses env.PATH when env is given, so helpers are found as Docker would.
      const child = spawn(program, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => stdout.push(c));
      child.stderr.on('data', (c: Buffer) => stderr.push(c));
      child.on('error', reject);
      // A helper that exits before reading stdin must not crash us with EPIPE.
      child.stdin.on('error', () => {});
      child.on('close', (code) =>
        resolve({
          code,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        }),
      );
      child.stdin.end(stdin);
    });
}

/**
 * Credentials as `docker pull` finds them. For the registry's key (Docker Hub's is its v1 index
 * URL): DOCKER_AUTH_CONFIG's `auths`; else the helper named by `credHelpers[key]`, else by
 * `credsStore`, whose answer is final (a helper that has nothing means anonymous, even when
 * `auths` has an entry: native_store.go overwrites it); else `auths[key]`, or the first
 * key written as a URL of that host. The file is read once, on first use.
 */
export class DockerConfigCredentials implements CredentialProvider {
  private readonly env: NodeJS.ProcessEnv;
  private readonly home: string;
  private readonly run: RunProgram;
  private config: Promise<DockerConfig> | undefined;
  /** Helper answers per key: the Authenticator asks on every request to a Basic registry. */
  private readonly answers = new Map<string, Promise<Credentials | undefined>>();

  constructor(options: DockerConfigCredentialsOptions = {}) {
    this.env = options.env ?? process.env;
    this.home = options.home ?? homedir();
    this.run = options.run ?? spawnWith(this.env);
  }

  async credentials(registry: string): Promise<Credentials | undefined> {
    this.config ??= loadDockerConfig(this.env, this.home);
    const config = await this.config;
    const key = dockerConfigKey(registry);
    const fromEnv = config.envAuths.get(key);
    if (fromEnv !== undefined) return fromEnv;
    // configfile's getConfiguredCredentialStore: an entry in credHelpers wins even when it is
    // empty, and an empty helper name means the file itself.
    const helper = Object.hasOwn(config.credHelpers, key)
      ? config.credHelpers[key]
      : config.credsStore;
    if (helper !== undefined && helper !== '') return this.askHelper(helper, key, registry);
    if (config.auths.has(key)) return config.auths.get(key);
    for (const [written, credentials] of config.auths)
      if (convertToHostname(written) === key) return credentials;
    return undefined;
  }

  private askHelper(helper: string, key: string, registry: string) {
    let answer = this.answers.get(key);
    if (answer === undefined) {
      answer = this.runHelper(`docker-credential-${helper}`, key, registry);
      // A failure is not remembered: the next pull may find the helper working.
      answer.catch(() => this.answers.delete(key));
      this.answers.set(key, answer);
    }
    return answer;
  }

  /** `<helper> get` with the server URL on stdin, as client.Get sends it (no newline). */
  private async runHelper(
    program: string,
    key: string,
    registry: string,
  ): Promise<Credentials | undefined> {
    let out: ProgramOutput;
    try {
      out = await this.run(program, ['get'], key);
    } catch (cause) {
      const reason =
        (cause as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'not found on PATH (is it installed?)'
          : `cannot be run: ${(cause as Error).message}`;
      throw new CredentialHelperError(program, registry, reason, { cause });
    }
    if (out.code !== 0) {
      if (out.stdout.trim() === NOT_FOUND) return undefined;
      const said = (out.stdout.trim() || out.stderr.trim()).slice(0, 500);
      throw new CredentialHelperError(
        program,
        registry,
        `exited with ${out.code ?? 'a signal'}${said === '' ? '' : `: ${said}`}`,
      );
    }
    let answer: z.infer<typeof HelperAnswer>;
    try {
      answer = HelperAnswer.parse(JSON.parse(out.stdout));
    } catch (cause) {
      throw new CredentialHelperError(
        program,
        registry,
        'answered something other than {"Username","Secret"} JSON',
        { cause },
      );
    }
    if (answer.Username === TOKEN_USERNAME)
      return { username: '', password: '', identityToken: answer.Secret };
    if (answer.Username === '' && answer.Secret === '') return undefined;
    return { username: answer.Username, password: answer.Secret };
  }
}

export interface EcrSdkCredentialsOptions {
  /**
   * Added to each region's ECRClient configuration (a requestHandler, credentials); the region
   * is always the registry host's. @default the SDK's default credential chain
   */
  readonly clientConfig?: Omit<ECRClientConfig, 'region'>;
}

// As shared/config/clients.ts: a hung request is an error, not a stuck CLI.
const ECR_REQUEST_HANDLER = {
  requestTimeout: 30_000,
  connectionTimeout: 5_000,
  throwOnRequestTimeout: true,
};

/**
 * ECR credentials with no setup, as docker-credential-ecr-login gives them: the region comes
 * from the registry host, each region gets one ECRClient (created on first use) with the
 * SDK's default credential chain, and GetAuthorizationToken's answer is cached per account.
 * https://github.com/awslabs/amazon-ecr-credential-helper
 */
export class EcrSdkCredentials implements CredentialProvider {
  private readonly byRegion = new Map<string, EcrCredentials>();
  constructor(private readonly options: EcrSdkCredentialsOptions = {}) {}

  async credentials(registry: string): Promise<Credentials | undefined> {
    const region = ecrRegionOf(registry);
    if (region === undefined) return undefined;
    let provider = this.byRegion.get(region);
    if (provider === undefined) {
      provider = new EcrCredentials({
        client: new ECRClient({
          requestHandler: ECR_REQUEST_HANDLER,
          ...this.options.clientConfig,
          region,
        }),
      });
      this.byRegion.set(region, provider);
    }
    return provider.credentials(registry);
  }
}

export interface CliCredentialsOptions extends DockerConfigCredentialsOptions {
  /** The registry of the image reference; BOSUN_REGISTRY_USERNAME/PASSWORD apply to it. */
  readonly registry: string;
  readonly ecr?: EcrSdkCredentialsOptions;
}

/**
 * The `bosun` CLI's credentials, first answer wins: BOSUN_REGISTRY_USERNAME and
 * BOSUN_REGISTRY_PASSWORD for the reference's registry; Docker's configuration; ECR through
 * the AWS SDK for ECR hosts; else anonymous.
 */
export function cliCredentials(options: CliCredentialsOptions): CredentialProvider {
  const env = options.env ?? process.env;
  const username = env.BOSUN_REGISTRY_USERNAME;
  const password = env.BOSUN_REGISTRY_PASSWORD;
  const providers: CredentialProvider[] = [];
  if (username !== undefined && password !== undefined)
    providers.push(new StaticCredentials({ [options.registry]: { username, password } }));
  providers.push(
    new DockerConfigCredentials({
      env,
      ...(options.home === undefined ? {} : { home: options.home }),
      ...(options.run === undefined ? {} : { run: options.run }),
    }),
    new EcrSdkCredentials(options.ecr),
  );
  return new ChainedCredentials(providers);
}
