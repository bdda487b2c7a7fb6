import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ECRClientConfig } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../shared/registry/client.js';
import {
  CredentialHelperError,
  cliCredentials,
  convertToHostname,
  DockerConfigCredentials,
  DockerConfigError,
  EcrSdkCredentials,
} from '../../../shared/registry/docker-config.js';
import { RegistryAuthError } from '../../../shared/registry/errors.js';
import { HostPolicy } from '../../../shared/registry/hosts.js';
import { parseReference } from '../../../shared/registry/reference.js';
import { Authenticator } from '../../../shared/registry/token-auth.js';
import { PROJECT_ROOT } from '../../support/fixtures.js';
import { LayoutWriter, pushLayout, tarOf } from '../../support/oci.js';
import { startPasswordRegistry, type TestRegistry } from '../../support/registry.js';

const FIXTURES = path.join(PROJECT_ROOT, 'test/fixtures/registry/docker-config');
const work = mkdtempSync(path.join(tmpdir(), 'bosun-docker-config-'));

/**
 * The helpers' keychain: what `docker-credential-<name> get` answers per server URL. `test`
 * and `store` are links to test/support/credential-helper.mjs on the PATH given to the
 * provider; `not-installed` is on no PATH.
 */
const KEYCHAIN = {
  test: {
    'ghcr.io': { Username: 'helper-user', Secret: 'helper-secret' },
    'https://index.docker.io/v1/': { Username: 'hub-helper-user', Secret: 'hub-helper-secret' },
    'token.example': { Username: '<token>', Secret: 'refresh-from-helper' },
    'failing.example': { fail: 'error getting credentials: keychain is locked' },
  },
  store: {
    'https://index.docker.io/v1/': { Username: 'hub-store-user', Secret: 'hub-store-secret' },
  },
};

const bin = path.join(work, 'bin');
const keychain = path.join(work, 'keychain.json');
const log = path.join(work, 'helper.log');
/** A folder whose config.json is empty. */
const empty = path.join(work, 'empty');

beforeAll(() => {
  mkdirSync(bin);
  for (const name of ['test', 'store'])
    symlinkSync(
      path.join(PROJECT_ROOT, 'test/support/credential-helper.mjs'),
      path.join(bin, `docker-credential-${name}`),
    );
  writeFileSync(keychain, JSON.stringify(KEYCHAIN));
  mkdirSync(empty);
  writeFileSync(path.join(empty, 'config.json'), '');
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The environment of a `bosun` run: PATH holds the helpers (and node, their interpreter). */
function envWith(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}`,
    BOSUN_TEST_HELPER_STORE: keychain,
    BOSUN_TEST_HELPER_LOG: log,
    ...extra,
  };
}

/** A fixture scenario's folder, or a folder made by the test (absolute). */
const configDir = (scenario: string) => path.resolve(FIXTURES, scenario);

/** Credentials from a scenario's config.json; HOME is a folder with no .docker. */
function fromScenario(scenario: string, extra: NodeJS.ProcessEnv = {}) {
  return new DockerConfigCredentials({
    env: envWith({ DOCKER_CONFIG: configDir(scenario), ...extra }),
    home: path.join(work, 'no-home'),
  });
}

/** The helper calls logged so far: `<name> get <stdin as JSON>`. */
function helperCalls(): string[] {
  try {
    return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

describe('auths in config.json', () => {
  const creds = fromScenario('auths');

  it('decodes `auth` (base64 user:password) and reads username/password pairs', async () => {
    expect(await creds.credentials('ghcr.io')).toEqual({
      username: 'gh-user',
      password: 'gh-token',
    });
  });

  it('files Docker Hub under https://index.docker.io/v1/ whichever name the reference uses', async () => {
    const hub = { username: 'hub-user', password: 'hub-pass' };
    expect(await creds.credentials('docker.io')).toEqual(hub);
    expect(await creds.credentials('index.docker.io')).toEqual(hub);
    expect(await creds.credentials('registry-1.docker.io')).toEqual(hub);
  });

  it('matches keys written as URLs by their host and port, as ConvertToHostname does', async () => {
    expect(await creds.credentials('quay.io')).toEqual({
      username: 'quay-user',
      password: 'quay-pass',
    });
    expect(await creds.credentials('localhost:5000')).toEqual({
      username: 'local-user',
      password: 'local-pass',
    });
    expect(await creds.credentials('localhost')).toBeUndefined();
    expect(convertToHostname('https://user@[::1]:5000/v2/')).toBe('[::1]:5000');
    expect(convertToHostname('127.0.0.1:5000')).toBe('127.0.0.1:5000');
  });

  it('gives an identity token as one, beside the username it was issued to', async () => {
    expect(await creds.credentials('registry.example.com')).toEqual({
      username: 'robot',
      password: '',
      identityToken: 'refresh-abc',
    });
  });

  it('has nothing for an entry emptied by docker logout, or for a registry it does not name', async () => {
    expect(await creds.credentials('logged-out.example')).toBeUndefined();
    expect(await creds.credentials('unknown.example')).toBeUndefined();
  });
});

describe('credential helpers', () => {
  it('asks credHelpers[registry] with the server URL on stdin, before any auths entry', async () => {
    const creds = fromScenario('cred-helpers');
    const before = helperCalls().length;
    expect(await creds.credentials('ghcr.io')).toEqual({
      username: 'helper-user',
      password: 'helper-secret',
    });
    expect(await creds.credentials('docker.io')).toEqual({
      username: 'hub-helper-user',
      password: 'hub-helper-secret',
    });
    // Asked once per registry, however often the client asks.
    await creds.credentials('ghcr.io');
    expect(helperCalls().slice(before)).toEqual([
      'test get "ghcr.io"',
      'test get "https://index.docker.io/v1/"',
    ]);
  });

  it('falls back to auths for a registry without a helper when there is no credsStore', async () => {
    expect(await fromScenario('cred-helpers').credentials('quay.io')).toEqual({
      username: 'file-user',
      password: 'file-pass',
    });
  });

  it('reads the helper username <token> as an identity token', async () => {
    expect(await fromScenario('cred-helpers').credentials('token.example')).toEqual({
      username: '',
      password: '',
      identityToken: 'refresh-from-helper',
    });
  });

  it('treats "credentials not found in native keychain" as no credentials', async () => {
    expect(await fromScenario('cred-helpers').credentials('nothing.example')).toBeUndefined();
  });

  it('fails with CredentialHelperError naming a helper that is not installed', async () => {
    const attempt = fromScenario('cred-helpers').credentials('missing.example');
    await expect(attempt).rejects.toThrow(CredentialHelperError);
    await expect(attempt).rejects.toThrow(
      'credential helper docker-credential-not-installed (for missing.example): not found on PATH',
    );
  });

  it('fails with CredentialHelperError carrying what a failing helper said', async () => {
    const attempt = fromScenario('cred-helpers').credentials('failing.example');
    await expect(attempt).rejects.toThrow(RegistryAuthError);
    await expect(attempt).rejects.toThrow(
      /docker-credential-test \(for failing\.example\): exited with 1: error getting credentials: keychain is locked/,
    );
  });

  it('asks credsStore for every registry without its own helper, and its answer is final', async () => {
    const creds = fromScenario('creds-store');
    expect(await creds.credentials('docker.io')).toEqual({
      username: 'hub-store-user',
      password: 'hub-store-secret',
    });
    // credHelpers beats credsStore.
    expect(await creds.credentials('ghcr.io')).toEqual({
      username: 'helper-user',
      password: 'helper-secret',
    });
    // The store has nothing for quay.io: Docker does not fall back to the auths entry.
    expect(await creds.credentials('quay.io')).toBeUndefined();
    // An empty helper name in credHelpers sends the registry back to the file.
    expect(await creds.credentials('plain.example')).toEqual({
      username: 'plain-user',
      password: 'plain-pass',
    });
  });
});

describe('where the configuration is and what is wrong with it', () => {
  it('reads ~/.docker/config.json when DOCKER_CONFIG is unset, once', async () => {
    const home = path.join(work, 'home');
    mkdirSync(path.join(home, '.docker'), { recursive: true });
    const file = path.join(home, '.docker', 'config.json');
    writeFileSync(file, readFileSync(path.join(FIXTURES, 'auths', 'config.json')));
    const creds = new DockerConfigCredentials({ env: envWith({}), home });
    expect(await creds.credentials('ghcr.io')).toEqual({
      username: 'gh-user',
      password: 'gh-token',
    });
    rmSync(file);
    expect((await creds.credentials('quay.io'))?.username).toBe('quay-user');
  });

  it('has no credentials when there is no config file, or an empty one', async () => {
    const nowhere = new DockerConfigCredentials({ env: envWith({}), home: path.join(work, 'x') });
    expect(await nowhere.credentials('ghcr.io')).toBeUndefined();
    expect(await fromScenario(empty).credentials('ghcr.io')).toBeUndefined();
  });

  it('fails with DockerConfigError naming a file that is not JSON', async () => {
    const dir = path.join(work, 'corrupt');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'config.json'), '{\n  "auths": {\n    "ghcr.io": { "auth": "');
    const creds = new DockerConfigCredentials({ env: envWith({ DOCKER_CONFIG: dir }) });
    const attempt = creds.credentials('ghcr.io');
    await expect(attempt).rejects.toThrow(DockerConfigError);
    await expect(attempt).rejects.toThrow(
      `Docker config ${path.join(dir, 'config.json')}: not JSON`,
    );
  });

  it('fails the whole file on an auth that is not base64, as Docker does', async () => {
    const attempt = fromScenario('bad-auth').credentials('ghcr.io');
    await expect(attempt).rejects.toThrow(DockerConfigError);
    await expect(attempt).rejects.toThrow('auths["quay.io"].auth is not standard base64');
  });

  it('reads DOCKER_AUTH_CONFIG first and rejects one that has other fields', async () => {
    const auth = Buffer.from('env-user:env-pass').toString('base64');
    const creds = fromScenario('cred-helpers', {
      DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'ghcr.io': { auth } } }),
    });
    expect(await creds.credentials('ghcr.io')).toEqual({
      username: 'env-user',
      password: 'env-pass',
    });
    expect((await creds.credentials('quay.io'))?.username).toBe('file-user');
    const wrong = fromScenario('auths', {
      DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'ghcr.io': { username: 'u' } } }),
    });
    await expect(wrong.credentials('ghcr.io')).rejects.toThrow(/^Docker config DOCKER_AUTH_CONFIG/);
  });
});

describe('identity tokens', () => {
  it('are traded at the token endpoint as an OAuth2 refresh token (grant_type=refresh_token)', async () => {
    const requests: { method: string; url: string; body: string }[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      requests.push({
        method: init?.method ?? 'GET',
        url: String(input),
        body: String(init?.body ?? ''),
      });
      return new Response(JSON.stringify({ access_token: 'access-1', expires_in: 300 }));
    };
    const auth = new Authenticator({
      credentials: fromScenario('auths'),
      fetch,
      timeoutMs: 1000,
      hosts: (registry) =>
        new HostPolicy(registry, new URL(`https://${registry}`), ['auth.example.com']),
    });
    const sent: (string | undefined)[] = [];
    const response = await auth.authenticate(
      { registry: 'registry.example.com', repository: 'team/app' },
      'manifest registry.example.com/team/app:1',
      async (authorization) => {
        sent.push(authorization);
        return authorization === 'Bearer access-1'
          ? new Response('{}')
          : new Response(null, {
              status: 401,
              headers: {
                'www-authenticate':
                  'Bearer realm="https://auth.example.com/token",service="registry.example.com"',
              },
            });
      },
    );
    expect(response.status).toBe(200);
    expect(sent).toEqual([undefined, 'Bearer access-1']);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.method).toBe('POST');
    expect(requests[0]?.url).toBe('https://auth.example.com/token');
    expect(Object.fromEntries(new URLSearchParams(requests[0]?.body))).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'refresh-abc',
      client_id: 'bosun',
      scope: 'repository:team/app:pull',
      service: 'registry.example.com',
    });
  });
});

/**
 * ECR has no local emulator: a real ECRClient whose requestHandler answers as the service
 * does. GetAuthorizationToken's response, per the API reference
 * (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetAuthorizationToken.html):
 * authorizationData[] of { authorizationToken: base64 "AWS:<password>", expiresAt: epoch
 * seconds, proxyEndpoint }, in the awsJson1_1 protocol.
 */
function fakeEcrService(answer?: { status: number; body: unknown }) {
  const requests: { host: string; target: string; body: unknown }[] = [];
  const requestHandler = {
    async handle(request: { hostname: string; headers: Record<string, string>; body: Uint8Array }) {
      const body = JSON.parse(new TextDecoder().decode(request.body)) as {
        registryIds?: string[];
      };
      requests.push({
        host: request.hostname,
        target: request.headers['x-amz-target'] ?? '',
        body,
      });
      const account = body.registryIds?.[0] ?? '000000000000';
      const region = request.hostname.split('.')[2];
      const payload = answer ?? {
        status: 200,
        body: {
          authorizationData: [
            {
              authorizationToken: Buffer.from(`AWS:password-${region}-${requests.length}`).toString(
                'base64',
              ),
              expiresAt: Math.floor(Date.now() / 1000) + 12 * 3600,
              proxyEndpoint: `https://${account}.dkr.ecr.${region}.amazonaws.com`,
            },
          ],
        },
      };
      return {
        response: {
          statusCode: payload.status,
          headers: { 'content-type': 'application/x-amz-json-1.1' },
          body: new TextEncoder().encode(JSON.stringify(payload.body)),
        },
      };
    },
  };
  const clientConfig = {
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    requestHandler: requestHandler as unknown as ECRClientConfig['requestHandler'],
  };
  return { requests, clientConfig };
}

describe('ECR through the AWS SDK', () => {
  it('asks the region of the registry host for its account, and reuses the token', async () => {
    const ecr = fakeEcrService();
    const creds = new EcrSdkCredentials({ clientConfig: ecr.clientConfig });
    const dublin = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
    expect(await creds.credentials(dublin)).toEqual({
      username: 'AWS',
      password: 'password-eu-west-1-1',
    });
    expect(await creds.credentials(dublin)).toEqual({
      username: 'AWS',
      password: 'password-eu-west-1-1',
    });
    expect(await creds.credentials('210987654321.dkr.ecr.us-east-2.amazonaws.com')).toEqual({
      username: 'AWS',
      password: 'password-us-east-2-2',
    });
    expect(await creds.credentials('ghcr.io')).toBeUndefined();
    expect(ecr.requests).toEqual([
      {
        host: 'api.ecr.eu-west-1.amazonaws.com',
        target: 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken',
        body: { registryIds: ['123456789012'] },
      },
      {
        host: 'api.ecr.us-east-2.amazonaws.com',
        target: 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken',
        body: { registryIds: ['210987654321'] },
      },
    ]);
  });

  it('turns an AccessDeniedException into RegistryAuthError naming the account', async () => {
    const ecr = fakeEcrService({
      status: 400,
      body: {
        __type: 'AccessDeniedException',
        message: 'User is not authorized to perform: ecr:GetAuthorizationToken',
      },
    });
    const attempt = new EcrSdkCredentials({ clientConfig: ecr.clientConfig }).credentials(
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    );
    await expect(attempt).rejects.toThrow(RegistryAuthError);
    await expect(attempt).rejects.toThrow(
      /account 123456789012 failed: User is not authorized to perform: ecr:GetAuthorizationToken/,
    );
  });
});

describe('the CLI chain', () => {
  const ecrHost = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

  function chain(scenario: string, extra: NodeJS.ProcessEnv = {}) {
    const ecr = fakeEcrService();
    const creds = cliCredentials({
      registry: 'ghcr.io',
      env: envWith({ DOCKER_CONFIG: configDir(scenario), ...extra }),
      ecr: { clientConfig: ecr.clientConfig },
    });
    return { creds, ecr };
  }

  it('prefers BOSUN_REGISTRY_USERNAME/PASSWORD for the reference registry, then Docker', async () => {
    const { creds } = chain('auths', {
      BOSUN_REGISTRY_USERNAME: 'bosun-user',
      BOSUN_REGISTRY_PASSWORD: 'bosun-pass',
    });
    expect(await creds.credentials('ghcr.io')).toEqual({
      username: 'bosun-user',
      password: 'bosun-pass',
    });
    expect((await creds.credentials('quay.io'))?.username).toBe('quay-user');
  });

  it('uses the SDK for an ECR host Docker has nothing for, and anonymous for the rest', async () => {
    const { creds, ecr } = chain('auths');
    expect(await creds.credentials(ecrHost)).toEqual({
      username: 'AWS',
      password: 'password-eu-west-1-1',
    });
    expect(await creds.credentials('unknown.example')).toBeUndefined();
    expect(ecr.requests).toHaveLength(1);
  });

  it('lets Docker configuration for an ECR host win over the SDK', async () => {
    const auth = Buffer.from('AWS:from-docker-login').toString('base64');
    const { creds, ecr } = chain(empty, {
      DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [ecrHost]: { auth } } }),
    });
    expect(await creds.credentials(ecrHost)).toEqual({
      username: 'AWS',
      password: 'from-docker-login',
    });
    expect(ecr.requests).toEqual([]);
  });

  it('stops at a broken Docker configuration instead of pulling anonymously', async () => {
    const { creds } = chain('bad-auth');
    await expect(creds.credentials('unknown.example')).rejects.toThrow(DockerConfigError);
  });
});

describe('pulling with credentials from config.json', () => {
  let registry: TestRegistry;
  let digest: string;

  beforeAll(async () => {
    registry = await startPasswordRegistry(path.join(work, 'registry'), 'ci-bot', 'ci-password');
    const layout = new LayoutWriter(path.join(work, 'layout'));
    const image = layout.image({
      architecture: 'amd64',
      layers: [await tarOf([{ path: 'etc/hello', content: 'hello\n' }])],
    });
    layout.finish(image, 'v1');
    digest = image.digest;
    pushLayout(layout.dir, 'v1', `${registry.host}/e2e/app:1`, { creds: 'ci-bot:ci-password' });
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
  });

  it('pulls a manifest from a registry that wants a password, with the auths entry for it', async () => {
    const dir = path.join(work, 'e2e-config');
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        auths: {
          // Written as a URL, as older docker logins did.
          [`http://${registry.host}/v2/`]: {
            auth: Buffer.from('ci-bot:ci-password').toString('base64'),
          },
        },
      }),
    );
    const client = new RegistryClient({
      credentials: new DockerConfigCredentials({ env: envWith({ DOCKER_CONFIG: dir }) }),
    });
    const manifest = await client.getManifest(parseReference(`${registry.host}/e2e/app:1`));
    expect(manifest.digest).toBe(digest);
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');

    const anonymous = new RegistryClient({ retry: { baseDelayMs: 1, maxDelayMs: 1 } });
    await expect(
      anonymous.getManifest(parseReference(`${registry.host}/e2e/app:1`)),
    ).rejects.toThrow(RegistryAuthError);
  }, 30_000);
});
