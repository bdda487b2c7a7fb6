/**
 * `bosun remote`, run as the CLI (a child process, as a user runs it), against the local
 * stack's stand-in for API Gateway (scripts/local/api-host.ts). The function behind it records
 * the REST proxy events it is handed and answers them in the API's documented shapes
 * (docs/api.md, docs/openapi.json); what the CLI sends (paths, percent-encoding, query, body, the
 * signature the host checks) and what it prints (tables, JSON, pages, errors, exit codes) are
 * what is pinned. The real API over the local stack: test/integration/api-local-stack.test.ts.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expiryInstant, regionOfUrl } from '../../../cli/remote.js';
import { signedHeaders } from '../../../cli/sigv4.js';
import {
  type ApiHost,
  LOCAL_PRINCIPALS,
  matchRoute,
  startApiHost,
} from '../../../scripts/local/api-host.js';
import { PROJECT_ROOT } from '../../support/fixtures.js';
import { bosunRemote, bosunRemoteWith } from '../../support/remote-cli.js';

const REPO = '111122223333.dkr.ecr.us-west-2.amazonaws.com/team-a/app';
const ENCODED = '111122223333.dkr.ecr.us-west-2.amazonaws.com%2Fteam-a%2Fapp';
const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;

const finding = (digest: string, id: string, status: string) => ({
  digest,
  packageKey: 'npm#concat-stream',
  packageName: 'concat-stream',
  installedVersion: '1.6.0',
  vulnerabilityId: id,
  ids: [id],
  advisoryIds: [id],
  status,
  severity: { severity: 'MEDIUM', source: 'ghsa' },
  fixedVersion: '1.6.1',
  firstObservedAt: '2026-12-01T00:00:00.000Z',
  lastObservedAt: '2026-12-01T00:00:00.000Z',
});

const VEX_ID = '0123456789abcdef01234567';
const VEX_VIEW = {
  id: VEX_ID,
  scope: '*',
  format: 'openvex',
  statements: 1,
  uploadedBy: 'arn:aws:iam::000000000000:user/local',
  uploadedAt: '2026-12-01T00:00:00.000Z',
};

const events: APIGatewayProxyEvent[] = [];
let host: ApiHost;

const json = (statusCode: number, body: unknown): APIGatewayProxyResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: body === undefined ? '' : JSON.stringify(body),
});

/** The api function's answers, by route; a page per cursor for the findings. */
async function answer(e: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  events.push(e);
  switch (`${e.httpMethod} ${e.resource}`) {
    case 'GET /repositories/{repository}/findings':
      if (e.queryStringParameters?.severity === 'LOW')
        return json(400, {
          error: 'BadRequest',
          message: 'invalid request: query.severity: no LOW here',
          problems: ['query.severity: no LOW here'],
        });
      return e.queryStringParameters?.cursor === undefined
        ? json(200, { items: [finding(D1, 'GHSA-p1', 'ACTIVE')], nextCursor: 'c1.x' })
        : json(200, { items: [finding(D2, 'GHSA-p2', 'SUPPRESSED')] });
    case 'GET /repositories/{repository}/images':
      return json(200, {
        items: [
          {
            digest: D1,
            tags: ['1.0', 'latest'],
            pushedAt: '2026-12-01T00:00:00.000Z',
            status: 'COMPLETE',
          },
        ],
      });
    case 'POST /repositories/{repository}/suppressions': {
      const body = JSON.parse(e.body ?? '{}') as Record<string, string>;
      return json(201, {
        scope: 'team-a/app',
        vulnerabilityId: body.vulnerabilityId,
        packageKey: body.packageKey ?? '*',
        reason: body.reason,
        author: e.requestContext.identity.userArn,
        expiresAt: body.expiresAt,
      });
    }
    case 'POST /repositories/{repository}/vex':
      return json(201, {
        ...VEX_VIEW,
        scope: 'team-a/app',
        uploadedBy: e.requestContext.identity.userArn,
        expiresAt: e.queryStringParameters?.expiresAt,
        issues: ['statement 2: no justification'],
        rescans: 2,
      });
    case 'GET /vex':
      return json(200, { items: [VEX_VIEW] });
    case 'DELETE /vex/{id}':
      return json(200, { deleted: true, rescans: 0 });
    case 'DELETE /suppressions/{vulnerabilityId}':
      return json(404, {
        error: 'NotFound',
        message: 'no suppression of CVE-2020-1 (*) in scope *',
      });
    default:
      return json(500, { error: 'InternalError', message: 'unexpected route in this test' });
  }
}

const remote = bosunRemote;

const at = () => ['--api-url', host.url, '--region', 'us-east-1'];

beforeAll(async () => {
  host = await startApiHost(answer);
});
afterAll(async () => host?.stop());

describe('the local API host', () => {
  const signed = async (url: URL, secret = 'local', date?: Date) =>
    signedHeaders(
      { method: 'GET', url, headers: {} },
      { accessKeyId: 'local', secretAccessKey: secret },
      'us-east-1',
      date,
    );
  const get = async (url: URL, headers: Record<string, string>) => {
    const { host: _h, ...send } = headers;
    const r = await fetch(url, { headers: send });
    return {
      status: r.status,
      type: r.headers.get('x-amzn-errortype'),
      body: (await r.json()) as unknown,
    };
  };

  it('matches the route table and keeps path parameters percent-encoded', () => {
    expect(matchRoute('GET', `/repositories/${ENCODED}/findings`)).toEqual({
      resource: '/repositories/{repository}/findings',
      pathParameters: { repository: ENCODED },
    });
    expect(matchRoute('DELETE', '/images/x/suppressions/CVE-1')?.resource).toBe(
      '/images/{digest}/suppressions/{vulnerabilityId}',
    );
    expect(matchRoute('PUT', `/repositories/${ENCODED}/findings`)).toBeUndefined();
  });

  it('refuses what IAM would: no signature, a wrong secret, an unknown key, an old date, an unknown route', async () => {
    const url = new URL(`repositories/${ENCODED}/images`, host.url);
    const before = events.length;
    expect(await get(url, {})).toEqual({
      status: 403,
      type: 'MissingAuthenticationTokenException',
      body: { message: 'Missing Authentication Token' },
    });
    expect(await get(url, await signed(url, 'not-the-secret'))).toMatchObject({
      status: 403,
      type: 'InvalidSignatureException',
    });
    const unknown = await signedHeaders(
      { method: 'GET', url, headers: {} },
      { accessKeyId: 'AKIAOTHER', secretAccessKey: 'x' },
      'us-east-1',
    );
    expect(await get(url, unknown)).toMatchObject({
      status: 403,
      type: 'UnrecognizedClientException',
    });
    expect(
      await get(url, await signed(url, 'local', new Date(Date.now() - 10 * 60_000))),
    ).toMatchObject({
      status: 403,
      type: 'InvalidSignatureException',
    });
    const nowhere = new URL('repositories/x/nothing', host.url);
    expect(await get(nowhere, await signed(nowhere))).toMatchObject({
      status: 403,
      type: 'MissingAuthenticationTokenException',
    });
    // None of them reached the function.
    expect(events.length).toBe(before);
    const ok = await get(url, await signed(url));
    expect(ok.status).toBe(200);
    expect(events.at(-1)?.requestContext.identity.userArn).toBe(LOCAL_PRINCIPALS.local?.arn);
  });
});

describe('bosun remote', () => {
  it('findings: filters as the API names them, every page with --all, the table of bosun scan', async () => {
    events.length = 0;
    const r = await remote(
      'findings',
      REPO,
      ...at(),
      '--severity',
      'medium,high',
      '--fixable',
      '--kev',
      '--limit',
      '1',
      '--all',
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(events.map((e) => [e.resource, e.pathParameters, e.queryStringParameters])).toEqual([
      [
        '/repositories/{repository}/findings',
        { repository: ENCODED },
        { severity: 'MEDIUM,HIGH', fixAvailable: 'true', kev: 'true', limit: '1' },
      ],
      [
        '/repositories/{repository}/findings',
        { repository: ENCODED },
        { severity: 'MEDIUM,HIGH', fixAvailable: 'true', kev: 'true', limit: '1', cursor: 'c1.x' },
      ],
    ]);
    expect(events[0]?.requestContext.identity.userArn).toBe('arn:aws:iam::000000000000:user/local');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`${REPO}: 2 findings`);
    expect(lines[1]).toMatch(
      /^STATUS\s+SEVERITY\s+VULNERABILITY\s+PACKAGE\s+INSTALLED\s+FIXED IN\s+EXPLOIT\s+IMAGE$/,
    );
    expect(lines.slice(2).map((l) => l.split(/\s{2,}/))).toEqual([
      ['ACTIVE', 'MEDIUM', 'GHSA-p1', 'concat-stream', '1.6.0', '1.6.1', D1.slice(0, 19)],
      ['SUPPRESSED', 'MEDIUM', 'GHSA-p2', 'concat-stream', '1.6.0', '1.6.1', D2.slice(0, 19)],
    ]);
  }, 30_000);

  it('one page without --all: its cursor said; --format json is the page as the API gave it', async () => {
    const table = await remote('findings', REPO, ...at());
    expect(table.stdout).toContain(`${REPO}: 1 findings on this page`);
    expect(table.stdout).toContain('(more: --cursor c1.x, or --all for every page)');
    const page = await remote('findings', REPO, ...at(), '--format', 'json');
    expect(JSON.parse(page.stdout)).toEqual({
      items: [finding(D1, 'GHSA-p1', 'ACTIVE')],
      nextCursor: 'c1.x',
    });
    const images = await remote('images', REPO, ...at());
    expect(images.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^DIGEST\s+TAGS\s+PUSHED\s+STATUS$/),
      `${D1}  1.0,latest  2026-12-01T00:00:00.000Z  COMPLETE`,
    ]);
  }, 30_000);

  it('suppress: the body the API takes, the expiry day as an instant; the author is the signer', async () => {
    events.length = 0;
    const r = await remote(
      'suppress',
      REPO,
      'CVE-2023-45853',
      ...at(),
      '--package',
      'npm#concat-stream',
      '--reason',
      'not reachable',
      '--expires',
      '2099-01-31',
      '--format',
      'json',
    );
    expect(r.status).toBe(0);
    expect(events[0]?.httpMethod).toBe('POST');
    expect(JSON.parse(events[0]?.body ?? '')).toEqual({
      vulnerabilityId: 'CVE-2023-45853',
      packageKey: 'npm#concat-stream',
      reason: 'not reachable',
      expiresAt: '2099-01-31T00:00:00Z',
    });
    expect(JSON.parse(r.stdout)).toMatchObject({ author: 'arn:aws:iam::000000000000:user/local' });
  }, 30_000);

  it('--stack: the URL is the ApiUrl output DescribeStacks gives (CloudFormation answered on loopback)', async () => {
    const asked: URLSearchParams[] = [];
    // awsQuery, as the CloudFormation API reference documents DescribeStacks' response.
    const cfn = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const form = new URLSearchParams(body);
        asked.push(form);
        const outputs =
          form.get('StackName') === 'Bosun'
            ? `<Outputs><member><OutputKey>FindingsTopicArn</OutputKey><OutputValue>arn:aws:sns:us-east-1:123456789012:findings</OutputValue></member><member><OutputKey>ApiUrl</OutputKey><OutputValue>${host.url}</OutputValue></member></Outputs>`
            : '<Outputs/>';
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(
          `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${form.get('StackName')}</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/${form.get('StackName')}/1</StackId><CreationTime>2026-12-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>${outputs}</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
        );
      });
    });
    await new Promise<void>((resolve) => cfn.listen(0, '127.0.0.1', resolve));
    try {
      const env = {
        AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${(cfn.address() as AddressInfo).port}`,
        // The signing region, when the URL names none and --region is not given.
        AWS_REGION: 'us-east-1',
      };
      events.length = 0;
      const r = await bosunRemoteWith(env, 'images', REPO, '--stack', 'Bosun');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(asked.map((f) => [f.get('Action'), f.get('StackName')])).toEqual([
        ['DescribeStacks', 'Bosun'],
      ]);
      expect(events.map((e) => e.resource)).toEqual(['/repositories/{repository}/images']);
      const other = await bosunRemoteWith(env, 'images', REPO, '--stack', 'Other');
      expect(other.status).toBe(3);
      expect(other.stderr).toContain('stack Other has no ApiUrl output');
    } finally {
      await new Promise<void>((resolve) => cfn.close(() => resolve()));
    }
  }, 60_000);

  it('vex put, list, delete: the document sent as it is, its expiry in the query; the routes of its scope', async () => {
    const file = path.join(PROJECT_ROOT, 'test/fixtures/vex/openvex/spring-boot-log4shell.json');
    events.length = 0;
    const put = await remote(
      'vex',
      'put',
      file,
      '--repository',
      REPO,
      '--expires',
      '2099-01-31',
      ...at(),
    );
    expect(put.stderr).toBe('');
    expect(put.status).toBe(0);
    expect(
      events.map((e) => [e.httpMethod, e.resource, e.pathParameters, e.queryStringParameters]),
    ).toEqual([
      [
        'POST',
        '/repositories/{repository}/vex',
        { repository: ENCODED },
        { expiresAt: '2099-01-31T00:00:00Z' },
      ],
    ]);
    expect(events[0]?.body).toBe(readFileSync(file, 'utf8'));
    expect(put.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^ID\s+SCOPE\s+FORMAT\s+STATEMENTS\s+EXPIRES\s+UPLOADED BY$/),
      `${VEX_ID}  team-a/app  openvex  1           2099-01-31T00:00:00Z  arn:aws:iam::000000000000:user/local`,
      '  issue: statement 2: no justification',
      'rescans queued: 2',
    ]);
    const list = await remote('vex', 'list', ...at(), '--format', 'json');
    expect(JSON.parse(list.stdout)).toEqual({ items: [VEX_VIEW] });
    const deleted = await remote('vex', 'delete', VEX_ID, ...at());
    expect(deleted.stdout.trim()).toBe(`deleted the VEX document ${VEX_ID}; rescans queued: 0`);
    expect(events.slice(1).map((e) => [e.httpMethod, e.resource, e.pathParameters])).toEqual([
      ['GET', '/vex', null],
      ['DELETE', '/vex/{id}', { id: VEX_ID }],
    ]);
    const missing = await remote('vex', 'put', path.join(PROJECT_ROOT, 'no-such.json'), ...at());
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('cannot read the VEX document');
  }, 60_000);

  it("exit 1 with the API's typed error; exit 2 on usage", async () => {
    const bad = await remote('findings', REPO, ...at(), '--severity', 'low');
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe(
      'bosun remote: 400 BadRequest: invalid request: query.severity: no LOW here',
    );
    const missing = await remote('unsuppress', '--global', 'CVE-2020-1', ...at());
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('404 NotFound: no suppression of CVE-2020-1');
    const usage = await remote('suppress', REPO, 'CVE-1', ...at());
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('--reason TEXT is required');
    const unsigned = await remote('images', REPO, '--api-url', 'http://api.example.com/v1/');
    expect(unsigned.status).toBe(2);
    expect(unsigned.stderr).toContain('is not https');
  }, 60_000);
});

describe('helpers', () => {
  it('the region of an API Gateway URL; an expiry day or instant', () => {
    expect(regionOfUrl(new URL('https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1/'))).toBe(
      'eu-west-1',
    );
    expect(regionOfUrl(new URL('http://127.0.0.1:4000/v1/'))).toBeUndefined();
    expect(expiryInstant('2027-01-31')).toBe('2027-01-31T00:00:00Z');
    expect(expiryInstant('2027-01-31T12:00:00+02:00')).toBe('2027-01-31T12:00:00+02:00');
    expect(() => expiryInstant('next week')).toThrow(/invalid --expires "next week"/);
  });
});
