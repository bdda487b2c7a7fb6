/**
 * The trust-refresh function (functions/trust-refresh/index.ts) as Lambda runs it: its
 * configuration (shared/config/trust-refresh.ts), the S3 adapter (shared/stores/s3-objects.ts)
 * on fauxqs's S3 in this process, and a TUF repository signed at test time on loopback, trusted
 * from a root.json kept in S3 (a private Sigstore's way). What is pinned: the configuration's
 * problems are all named at once; the function writes the root into the object verification
 * reads, and S3 sees exactly one upload for it across runs with nothing new (the object-created
 * event re-verifies, so an unchanged root must not fire it); a new root is a second upload; a
 * refresh that fails leaves the object, counts, and fails the invocation with the typed error.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../scripts/local/services.js';
import { ConfigError } from '../../../shared/config/env.js';
import { loadTrustRefreshConfig } from '../../../shared/config/trust-refresh.js';
import { TRUSTED_ROOT_TARGET } from '../../../shared/provenance/trust-refresh.js';
import {
  SIGSTORE_PUBLIC_GOOD_MIRROR,
  shippedTufRoot,
} from '../../../shared/provenance/tuf-client.js';
import { S3Objects } from '../../../shared/stores/s3-objects.js';
import { dataDir } from '../../support/fixtures.js';
import { lambdaContext } from '../../support/lambda.js';
import {
  type FileServer,
  newTufKey,
  recordConnections,
  serveFiles,
  TufRepository,
} from '../../support/tuf-repo.js';

const PROVENANCE = path.join(dataDir(), 'provenance');
const PRODUCTION = readFileSync(
  path.join(PROVENANCE, 'sigstore-root-signing/targets/trusted_root.json'),
);
const STAGING = readFileSync(
  path.join(PROVENANCE, 'sigstore-root-signing-staging/targets/trusted_root.json'),
);

const BUCKET = 'bosun-trust';
const ROOT_KEY = 'sigstore/corp.json';
const ROOTS = JSON.stringify({ corp: `s3://${BUCKET}/${ROOT_KEY}` });

describe('the configuration', () => {
  const env = (refresh: unknown, roots = ROOTS) => ({
    AWS_REGION: 'eu-west-1',
    BOSUN_PROVENANCE_TRUSTED_ROOTS: roots,
    BOSUN_PROVENANCE_TRUST_REFRESH: JSON.stringify(refresh),
  });

  it('trusts the public-good mirror from the shipped root, and another from its object', () => {
    const config = loadTrustRefreshConfig(
      env(
        {
          'public-good': { mirror: SIGSTORE_PUBLIC_GOOD_MIRROR },
          corp: { mirror: 'https://tuf.corp.example', tufRoot: 's3://bosun-trust/tuf/root.json' },
        },
        JSON.stringify({
          'public-good': 's3://bosun-trust/sigstore/public-good.json',
          corp: `s3://${BUCKET}/${ROOT_KEY}`,
        }),
      ),
    );
    expect(config.sources).toEqual([
      {
        name: 'public-good',
        location: 's3://bosun-trust/sigstore/public-good.json',
        mirrorUrl: SIGSTORE_PUBLIC_GOOD_MIRROR,
        tufRoot: shippedTufRoot(SIGSTORE_PUBLIC_GOOD_MIRROR),
      },
      {
        name: 'corp',
        location: `s3://${BUCKET}/${ROOT_KEY}`,
        mirrorUrl: 'https://tuf.corp.example',
        tufRoot: 's3://bosun-trust/tuf/root.json',
      },
    ]);
  });

  it('names every problem at once', () => {
    const problems = (e: Record<string, string>) => {
      try {
        loadTrustRefreshConfig(e);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
      throw new Error('accepted');
    };
    expect(
      problems(
        env({
          corp: { mirror: 'https://tuf.corp.example' },
          other: { mirror: SIGSTORE_PUBLIC_GOOD_MIRROR },
        }),
      ),
    ).toEqual([
      'BOSUN_PROVENANCE_TRUST_REFRESH: corp: no TUF root is shipped for https://tuf.corp.example; give its root.json as "tufRoot"',
      'BOSUN_PROVENANCE_TRUST_REFRESH: other is not a root of BOSUN_PROVENANCE_TRUSTED_ROOTS',
    ]);
    expect(problems({ AWS_REGION: 'eu-west-1' })).toEqual([
      'BOSUN_PROVENANCE_TRUST_REFRESH is not set',
      'BOSUN_PROVENANCE_TRUSTED_ROOTS is not set (the objects to refresh)',
    ]);
    for (const bad of [
      { corp: { mirror: 'ftp://tuf.corp.example' } },
      { corp: { mirror: 'https://tuf.corp.example', tufRoot: 's3://bosun-trust/' } },
      { corp: { mirror: 'https://tuf.corp.example', extra: 1 } },
      [{ mirror: 'https://tuf.corp.example' }],
    ])
      expect(problems(env(bad))).toEqual([
        expect.stringMatching(/^BOSUN_PROVENANCE_TRUST_REFRESH=.* is not valid \(a JSON object/),
      ]);
  });
});

describe('the function', () => {
  let fauxqs: FauxqsServer;
  let server: FileServer;
  let repo: TufRepository;
  let work: string;
  let s3: S3Client;
  let connections: ReturnType<typeof recordConnections>;
  let handler: (event: unknown, context: unknown) => Promise<unknown>;
  const uploads = () =>
    fauxqs.spy
      .getAllMessages()
      .filter((m) => m.service === 's3' && m.key === ROOT_KEY && m.status === 'uploaded').length;
  const stored = async () =>
    Buffer.from((await new S3Objects(s3).get(`s3://${BUCKET}/${ROOT_KEY}`)) ?? []);
  const invoke = () => handler({ source: 'aws.scheduler' }, lambdaContext('trust-refresh'));

  beforeAll(async () => {
    connections = recordConnections();
    work = mkdtempSync(path.join(tmpdir(), 'bosun-trust-refresh-function-'));
    fauxqs = await startFauxqs({ port: 0, logger: false, messageSpies: { bufferSize: 1000 } });
    fauxqs.createBucket(BUCKET);
    const endpoint = `http://127.0.0.1:${fauxqs.port}`;
    s3 = new S3Client({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoint,
      forcePathStyle: true,
    });
    repo = new TufRepository();
    repo.publish({ [TRUSTED_ROOT_TARGET]: PRODUCTION });
    server = await serveFiles(repo.files);
    await new S3Objects(s3).put(`s3://${BUCKET}/tuf/root.json`, repo.root(1));
    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      BOSUN_S3_ENDPOINT: endpoint,
      BOSUN_PROVENANCE_TRUSTED_ROOTS: ROOTS,
      BOSUN_PROVENANCE_TRUST_REFRESH: JSON.stringify({
        corp: { mirror: server.url, tufRoot: `s3://${BUCKET}/tuf/root.json` },
      }),
      // The function's cache goes under the system's temporary folder (Lambda's /tmp).
      TMPDIR: work,
    });
    ({ handler } = (await import('../../../functions/trust-refresh/index.js')) as unknown as {
      handler: typeof handler;
    });
  });

  afterAll(async () => {
    connections.stop();
    await server?.close();
    await fauxqs?.stop();
    rmSync(work, { recursive: true, force: true });
    expect(new Set(connections.hosts)).toEqual(new Set(['127.0.0.1']));
  });

  it('writes the root on its first run, then nothing while nothing is new', async () => {
    expect(await invoke()).toEqual({ written: ['corp'], unchanged: [] });
    expect(await stored()).toEqual(PRODUCTION);
    expect(await invoke()).toEqual({ written: [], unchanged: ['corp'] });
    expect(uploads()).toBe(1);
  });

  it('writes a new root once', async () => {
    repo.publish({ [TRUSTED_ROOT_TARGET]: STAGING });
    expect(await invoke()).toEqual({ written: ['corp'], unchanged: [] });
    expect(await invoke()).toEqual({ written: [], unchanged: ['corp'] });
    expect(await stored()).toEqual(STAGING);
    expect(uploads()).toBe(2);
  });

  it('fails the invocation with the typed error, and keeps the object, when a refresh fails', async () => {
    repo.publish({ [TRUSTED_ROOT_TARGET]: PRODUCTION }, { signers: { targets: [newTufKey()] } });
    const error = (await invoke().catch((e: unknown) => e)) as AggregateError;
    expect(error).toBeInstanceOf(AggregateError);
    expect(error.errors.map((e: { name: string; failure: string }) => [e.name, e.failure])).toEqual(
      [['TrustRefreshError', 'VERIFICATION']],
    );
    expect(error.message).toMatch(/^trusted root corp not refreshed \(VERIFICATION\)/);
    expect(await stored()).toEqual(STAGING);
    expect(uploads()).toBe(2);
  });
});
