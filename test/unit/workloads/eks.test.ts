/**
 * EKS workloads: DescribeCluster on a real EKSClient answered at its request handler as the EKS
 * API reference documents it, pointing at a loopback HTTPS server with a certificate from a
 * test CA (made here with openssl) that serves PodList pages shaped as the Kubernetes API
 * documents them (core/v1 PodList, `metadata.continue`). The server checks the bearer token as
 * STS would: a presigned GetCallerIdentity URL whose SigV4 signature, recomputed here from the
 * secret key, covers the `x-k8s-aws-id` header naming the cluster.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { DescribeClusterCommandOutput } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  digestOfImageId,
  EksReadError,
  eksToken,
  readEksWorkloads,
} from '../../../shared/workloads/eks.js';
import { fakeEks } from './sdk-fakes.js';

const ACCESS_KEY = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const CLUSTER = 'prod';
const CLUSTER_ARN = `arn:aws:eks:us-west-2:111122223333:cluster/${CLUSTER}`;
const REGISTRY = '111122223333.dkr.ecr.us-west-2.amazonaws.com';
const d = (c: string) => `sha256:${c.repeat(64)}`;

const dir = mkdtempSync(path.join(tmpdir(), 'bosun-eks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A CA and a server certificate for 127.0.0.1 that it signed; and a second, unrelated CA. */
function makeCertificates() {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  for (const ca of ['ca', 'other-ca'])
    ssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=${ca}`,
    );
  ssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=kube-apiserver',
  );
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return {
    ca: read('ca.pem'),
    otherCa: read('other-ca.pem'),
    key: read('server.key'),
    cert: read('server.pem'),
  };
}

/** What STS checks of a presigned GetCallerIdentity URL (SigV4, query-string form). */
function verifyToken(token: string): string[] {
  const problems: string[] = [];
  if (!token.startsWith('k8s-aws-v1.')) return ['no k8s-aws-v1. prefix'];
  const url = new URL(Buffer.from(token.slice(11), 'base64url').toString());
  const q = url.searchParams;
  if (url.host !== 'sts.us-west-2.amazonaws.com') problems.push(`host ${url.host}`);
  if (q.get('Action') !== 'GetCallerIdentity' || q.get('Version') !== '2011-06-15')
    problems.push('not GetCallerIdentity');
  if (q.get('X-Amz-Expires') !== '60') problems.push('X-Amz-Expires');
  if (q.get('X-Amz-SignedHeaders') !== 'host;x-k8s-aws-id') problems.push('signed headers');
  const date = q.get('X-Amz-Date') as string;
  const scope = `${date.slice(0, 8)}/us-west-2/sts/aws4_request`;
  if (q.get('X-Amz-Credential') !== `${ACCESS_KEY}/${scope}`) problems.push('credential');
  const query = [...q]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join('&');
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const canonical = [
    'GET',
    '/',
    query,
    `host:${url.host}`,
    `x-k8s-aws-id:${CLUSTER}`,
    '',
    'host;x-k8s-aws-id',
    sha(''),
  ].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', date, scope, sha(canonical)].join('\n');
  let key: Buffer = Buffer.from(`AWS4${SECRET}`);
  for (const part of [date.slice(0, 8), 'us-west-2', 'sts', 'aws4_request'])
    key = createHmac('sha256', key).update(part).digest();
  if (createHmac('sha256', key).update(toSign).digest('hex') !== q.get('X-Amz-Signature'))
    problems.push('signature');
  return problems;
}

interface PodSpec {
  name: string;
  namespace: string;
  statuses: { name: string; image: string; imageID: string; running: boolean }[];
}
const pod = (p: PodSpec) => ({
  metadata: { name: p.name, namespace: p.namespace, uid: `uid-${p.name}` },
  spec: { containers: p.statuses.map((s) => ({ name: s.name, image: s.image })) },
  status: {
    phase: 'Running',
    containerStatuses: p.statuses.map((s) => ({
      name: s.name,
      image: s.image,
      imageID: s.imageID,
      ready: s.running,
      restartCount: 0,
      started: s.running,
      state: s.running
        ? { running: { startedAt: '2026-11-28T09:00:00Z' } }
        : { waiting: { reason: 'ContainerCreating' } },
    })),
  },
});
const PODS: PodSpec[] = [
  {
    name: 'web-7d9c',
    namespace: 'shop',
    statuses: [
      {
        name: 'web',
        image: `${REGISTRY}/web:1.4`,
        imageID: `${REGISTRY}/web@${d('a')}`,
        running: true,
      },
      {
        name: 'envoy',
        image: 'docker.io/envoyproxy/envoy:v1.31.0',
        imageID: `docker-pullable://envoyproxy/envoy@${d('b')}`,
        running: true,
      },
    ],
  },
  {
    name: 'job-1',
    namespace: 'batch',
    statuses: [{ name: 'job', image: 'local/job:dev', imageID: d('c'), running: true }],
  },
  {
    name: 'api-5f6b',
    namespace: 'shop',
    statuses: [
      {
        name: 'api',
        image: `${REGISTRY}/api:2.0`,
        imageID: `${REGISTRY}/api@${d('e')}`,
        running: false,
      },
    ],
  },
];

let certs: ReturnType<typeof makeCertificates>;
let server: Server;
let endpoint: string;
const requests: { path: string; problems: string[] }[] = [];
/** Continue tokens the server pretends have expired (410) once. */
const expire = new Set<string>();

beforeAll(async () => {
  certs = makeCertificates();
  server = createServer({ key: certs.key, cert: certs.cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const auth = req.headers.authorization ?? '';
    const problems = auth.startsWith('Bearer ') ? verifyToken(auth.slice(7)) : ['no bearer'];
    requests.push({ path: `${url.pathname}${url.search}`, problems });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (problems.length > 0)
      return send(401, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Unauthorized',
        code: 401,
      });
    const from = Number(url.searchParams.get('continue') ?? '0');
    const token = url.searchParams.get('continue') ?? '';
    if (expire.delete(token))
      return send(410, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Expired',
        code: 410,
      });
    const limit = Number(url.searchParams.get('limit'));
    const items = PODS.slice(from, from + limit).map(pod);
    const next = from + limit < PODS.length ? String(from + limit) : '';
    send(200, {
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: { resourceVersion: '4711', continue: next },
      items,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function eksService(ca: string) {
  return fakeEks((r) => ({
    body: {
      cluster: {
        name: decodeURIComponent(r.path.split('/').pop() as string),
        arn: CLUSTER_ARN,
        endpoint,
        status: 'ACTIVE',
        version: '1.31',
        certificateAuthority: { data: Buffer.from(ca).toString('base64') },
      },
    } satisfies Omit<DescribeClusterCommandOutput, '$metadata'>,
  }));
}

describe('EKS workloads', () => {
  it('lists every pod page with a token STS would accept and observes running containers', async () => {
    requests.length = 0;
    const { client, seen } = eksService(certs.ca);
    const now = new Date('2026-11-29T10:00:00.000Z');
    const observed = await readEksWorkloads(client, {
      clusters: [CLUSTER],
      pageSize: 2,
      now: () => now,
    });
    expect(seen.map((r) => [r.method, r.path])).toEqual([['GET', `/clusters/${CLUSTER}`]]);
    expect(requests).toEqual([
      { path: '/api/v1/pods?limit=2', problems: [] },
      { path: '/api/v1/pods?limit=2&continue=2', problems: [] },
    ]);
    expect(observed).toEqual([
      {
        source: 'eks',
        workload: `${CLUSTER_ARN}/shop/web-7d9c/web`,
        image: `${REGISTRY}/web:1.4`,
        digest: d('a'),
        registry: REGISTRY,
        repository: 'web',
        tag: '1.4',
        account: '111122223333',
        region: 'us-west-2',
        seenAt: now.toISOString(),
        state: 'RUNNING',
      },
      expect.objectContaining({
        workload: `${CLUSTER_ARN}/shop/web-7d9c/envoy`,
        digest: d('b'),
        registry: 'docker.io',
        repository: 'envoyproxy/envoy',
        tag: 'v1.31.0',
      }),
      // A local image ID is not a manifest digest; the waiting api container is not running.
      expect.not.objectContaining({ digest: expect.anything() }),
    ]);
    expect(observed[2]?.workload).toBe(`${CLUSTER_ARN}/batch/job-1/job`);
    client.destroy();
  });

  it('starts the list again when a continue token expired (410)', async () => {
    requests.length = 0;
    expire.add('2');
    const { client } = eksService(certs.ca);
    const observed = await readEksWorkloads(client, { clusters: [CLUSTER], pageSize: 2 });
    expect(requests.map((r) => r.path)).toEqual([
      '/api/v1/pods?limit=2',
      '/api/v1/pods?limit=2&continue=2',
      '/api/v1/pods?limit=2',
      '/api/v1/pods?limit=2&continue=2',
    ]);
    expect(observed).toHaveLength(3);
    client.destroy();
  });

  it('trusts only the cluster CA, and says what a refused token got', async () => {
    const other = eksService(certs.otherCa);
    await expect(readEksWorkloads(other.client, { clusters: [CLUSTER] })).rejects.toThrow(
      /certificate/,
    );
    other.client.destroy();
    const { client } = eksService(certs.ca);
    const wrongKey = async () => ({ accessKeyId: ACCESS_KEY, secretAccessKey: 'not-the-key' });
    await expect(
      readEksWorkloads(client, { clusters: [CLUSTER], credentials: wrongKey }),
    ).rejects.toThrow(EksReadError);
    client.destroy();
  });

  it('makes the token for the cluster it names, valid for 60 seconds', async () => {
    const token = await eksToken(CLUSTER, 'us-west-2', {
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET,
    });
    expect(verifyToken(token)).toEqual([]);
    expect(token).not.toContain('=');
  });

  it('reads the digest of each imageID form the kubelet reports', () => {
    expect(digestOfImageId(`${REGISTRY}/web@${d('a')}`)).toBe(d('a'));
    expect(digestOfImageId(`docker-pullable://nginx@${d('b')}`)).toBe(d('b'));
    expect(digestOfImageId(d('c'))).toBeUndefined();
    expect(digestOfImageId(undefined)).toBeUndefined();
  });
});
