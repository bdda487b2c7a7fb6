/**
 * `bosun remote <subcommand>`: the read API of a deployment (docs/api.md), from the command line.
 * Requests are signed with SigV4 for `execute-api` (cli/sigv4.ts) with the AWS SDK's default
 * credential chain (environment, shared config and SSO, container and instance roles), so an
 * IAM policy decides what each caller may read or suppress, as it does for any other client.
 *
 * The API's URL: --api-url, else the `ApiUrl` output of --stack (CloudFormation DescribeStacks),
 * else $BOSUN_API_URL. Output is a table (laid out as `bosun scan`'s) or the API's JSON; lists
 * show one page unless --all follows `nextCursor` to the end.
 *
 * `vex put|list|delete` upload, list and delete VEX documents (docs/vex.md) where the API has
 * those routes.
 *
 * Exit codes: 0 done; 1 the API refused or failed the request (its typed error printed);
 * 2 usage; 3 anything else (network, credentials, the stack or its output not found).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { UsageError } from './options.js';
import { print, table } from './output.js';
import { signedHeaders } from './sigv4.js';

export const REMOTE_OPTIONS = {
  'api-url': { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  format: { type: 'string', default: 'table' },
  all: { type: 'boolean', default: false },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  severity: { type: 'string' },
  status: { type: 'string' },
  fixable: { type: 'boolean', default: false },
  kev: { type: 'boolean', default: false },
  digest: { type: 'string' },
  repository: { type: 'string' },
  global: { type: 'boolean', default: false },
  package: { type: 'string' },
  reason: { type: 'string' },
  expires: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof REMOTE_OPTIONS }>>['values'];
type Flag = keyof typeof REMOTE_OPTIONS;

const COMMON: readonly Flag[] = ['api-url', 'stack', 'region', 'format'];
const PAGED: readonly Flag[] = [...COMMON, 'all', 'limit', 'cursor'];
const SCOPE: readonly Flag[] = ['global', 'digest'];

/** Each subcommand: its positional arguments and the flags it takes beyond the common ones. */
const SUBCOMMANDS = {
  images: { args: ['<repository>'], flags: PAGED },
  image: { args: ['<digest>'], flags: [...COMMON, 'repository'] },
  findings: {
    args: ['<repository>'],
    flags: [...PAGED, 'severity', 'status', 'fixable', 'kev', 'digest'],
  },
  vuln: { args: ['<id>'], flags: PAGED },
  tags: { args: ['<repository>'], flags: PAGED },
  suppressions: { args: ['[<repository>]'], flags: [...PAGED, ...SCOPE] },
  suppress: {
    args: ['<repository>|--global|--digest D', '<vulnerability id>'],
    flags: [...COMMON, ...SCOPE, 'package', 'reason', 'expires'],
  },
  unsuppress: {
    args: ['<repository>|--global|--digest D', '<vulnerability id>'],
    flags: [...COMMON, ...SCOPE, 'package'],
  },
  // VEX documents (docs/vex.md): global, or one repository's with --repository.
  'vex put': { args: ['<file>'], flags: [...COMMON, 'repository', 'expires'] },
  'vex list': { args: [], flags: [...PAGED, 'repository'] },
  'vex delete': { args: ['<id>'], flags: [...COMMON, 'repository'] },
} as const satisfies Record<string, { args: readonly string[]; flags: readonly Flag[] }>;
type Subcommand = keyof typeof SUBCOMMANDS;

export const REMOTE_USAGE = `usage: bosun remote <subcommand> [flags]
  ${Object.entries(SUBCOMMANDS)
    .map(([name, s]) => `bosun remote ${name} ${s.args.join(' ')}`)
    .join('\n  ')}`;

/** The API answered with an error: its status and message (exit 1). */
export class RemoteApiError extends Error {
  override readonly name = 'RemoteApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The region of an API Gateway URL (`https://<id>.execute-api.<region>.amazonaws.com/v1/`). */
export function regionOfUrl(url: URL): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(url.hostname)?.[1];
}

/** `2027-01-31` (midnight UTC) or an ISO 8601 instant, as the API's `expiresAt`. */
export function expiryInstant(text: string): string {
  const instant = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(instant) ||
    Number.isNaN(Date.parse(instant))
  )
    throw new UsageError(
      `invalid --expires ${JSON.stringify(text)}: a day (2027-01-31) or an instant (2027-01-31T12:00:00Z)`,
    );
  return instant;
}

interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

/** A signed client of one deployment's API. */
export class RemoteApi {
  constructor(
    private readonly base: URL,
    private readonly region: string,
    private readonly credentials: AwsCredentialIdentityProvider,
  ) {}

  async request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    query: Record<string, string> = {},
    body?: unknown,
  ): Promise<unknown> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    // A string is sent as it is (a VEX document), anything else as JSON.
    const text =
      body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers = {
      accept: 'application/json',
      ...(text === undefined ? {} : { 'content-type': 'application/json' }),
    };
    const signed = await signedHeaders(
      { method, url, headers, ...(text === undefined ? {} : { body: text }) },
      this.credentials,
      this.region,
    );
    // fetch sets Host from the URL, as it was signed.
    const { host: _host, ...send } = signed;
    const response = await fetch(url, {
      method,
      headers: send,
      ...(text === undefined ? {} : { body: text }),
    }).catch((error: Error) => {
      // fetch says only "fetch failed"; the reason is its cause (ECONNREFUSED, ENOTFOUND…).
      const cause = error.cause instanceof Error ? error.cause.message : error.message;
      throw new Error(`could not reach ${url.origin}: ${cause}`, { cause: error });
    });
    const answer = await response.text();
    if (!response.ok) throw new RemoteApiError(response.status, errorMessage(answer, response));
    return answer === '' ? undefined : (JSON.parse(answer) as unknown);
  }

  /** One page, or every page (`all`) gathered into one. */
  async list<T>(path: string, query: Record<string, string>, all: boolean): Promise<Page<T>> {
    const items: T[] = [];
    let q = query;
    for (;;) {
      const page = (await this.request('GET', path, q)) as Page<T>;
      items.push(...page.items);
      if (!all || page.nextCursor === undefined)
        return page.nextCursor === undefined ? { items } : { items, nextCursor: page.nextCursor };
      q = { ...query, cursor: page.nextCursor };
    }
  }
}

/**
 * The API's typed error (`{"error","message","problems"}`, docs/api.md), or API Gateway's own
 * (`{"message"}` or `{"Message"}` with x-amzn-ErrorType: a refused signature, a missing
 * permission).
 */
function errorMessage(text: string, response: Response): string {
  let parsed: { error?: string; message?: string; Message?: string } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // Not JSON: the status says it.
  }
  const type = parsed.error ?? response.headers.get('x-amzn-errortype')?.split(':')[0];
  // An IAM denial's body says `Message` (`User: … is not authorized to perform: execute-api:Invoke`).
  const what = parsed.message ?? parsed.Message ?? (text.trim() || response.statusText);
  return `${response.status}${type === undefined ? '' : ` ${type}`}: ${what}`;
}

/** The API's URL: --api-url, the stack's ApiUrl output, or $BOSUN_API_URL. */
async function apiUrl(values: Values): Promise<URL> {
  if (values['api-url'] !== undefined && values.stack !== undefined)
    throw new UsageError('--api-url and --stack: give one');
  let text = values['api-url'];
  if (text === undefined && values.stack !== undefined)
    text = await stackApiUrl(values.stack, values.region);
  text ??= process.env.BOSUN_API_URL;
  if (text === undefined || text === '')
    throw new UsageError('no API URL: give --api-url URL or --stack NAME, or set BOSUN_API_URL');
  let url: URL;
  try {
    url = new URL(text.endsWith('/') ? text : `${text}/`);
  } catch {
    throw new UsageError(`invalid API URL ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
    throw new UsageError(`the API URL ${text} is not https (plain HTTP only on loopback)`);
  return url;
}

/** The `ApiUrl` output of a CloudFormation stack (the construct's stack, infra/bosun-stack.ts). */
async function stackApiUrl(stack: string, region: string | undefined): Promise<string> {
  const { CloudFormationClient, DescribeStacksCommand } = await import(
    '@aws-sdk/client-cloudformation'
  );
  const cfn = new CloudFormationClient(region === undefined ? {} : { region });
  try {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
    const output = Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'ApiUrl')?.OutputValue;
    if (output === undefined)
      throw new Error(`stack ${stack} has no ApiUrl output (is it a Bosun stack?)`);
    return output;
  } finally {
    cfn.destroy();
  }
}

/** The region to sign for: the URL's, else --region, else the SDK's environment variables. */
function signingRegion(url: URL, values: Values): string {
  const region =
    regionOfUrl(url) ?? values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (region === undefined || region === '')
    throw new UsageError(`no region for ${url.host}: give --region (or set AWS_REGION)`);
  return region;
}

const seg = (value: string) => encodeURIComponent(value);

interface FindingItem {
  digest: string;
  packageName: string;
  installedVersion: string;
  vulnerabilityId: string;
  status: string;
  statusReason?: string;
  severity: { severity: string };
  fixedVersion?: string;
  fixVia?: string;
  fixState?: string;
  kev?: unknown;
  epss?: { score: number };
}

const shortDigest = (d: string) => d.slice(0, 19);

function findingRows(items: readonly FindingItem[]): void {
  table(
    ['STATUS', 'SEVERITY', 'VULNERABILITY', 'PACKAGE', 'INSTALLED', 'FIXED IN', 'EXPLOIT', 'IMAGE'],
    items.map((f) => [
      f.status,
      f.severity.severity,
      f.vulnerabilityId,
      f.packageName,
      f.installedVersion,
      f.fixedVersion === undefined
        ? `(${f.fixState ?? 'none'})`
        : `${f.fixedVersion}${f.fixVia === undefined ? '' : ` (${f.fixVia})`}`,
      [
        ...(f.kev === undefined ? [] : ['KEV']),
        ...(f.epss === undefined ? [] : [`EPSS ${(f.epss.score * 100).toFixed(1)}%`]),
      ].join(' '),
      shortDigest(f.digest),
    ]),
  );
}

interface SuppressionItem {
  scope: string;
  vulnerabilityId: string;
  packageKey: string;
  reason: string;
  author: string;
  expiresAt?: string;
}

const suppressionRow = (s: SuppressionItem) => [
  s.scope,
  s.vulnerabilityId,
  s.packageKey,
  s.expiresAt ?? '-',
  s.author,
  s.reason,
];
const SUPPRESSION_HEADER = ['SCOPE', 'VULNERABILITY', 'PACKAGE', 'EXPIRES', 'AUTHOR', 'REASON'];

/** The suppressions path of the scope the arguments name (repository, --digest or --global). */
function scopePath(values: Values, repository: string | undefined, wanted: boolean): string {
  const given = [repository !== undefined, values.digest !== undefined, values.global === true];
  const count = given.filter(Boolean).length;
  if (count > 1) throw new UsageError('one scope: a repository, --digest D or --global');
  if (count === 0 && wanted)
    throw new UsageError('a scope is needed: a repository, --digest D or --global');
  if (repository !== undefined) return `repositories/${seg(repository)}/suppressions`;
  if (values.digest !== undefined) return `images/${seg(values.digest)}/suppressions`;
  return 'suppressions';
}

interface VexItem {
  id: string;
  scope: string;
  format: string;
  statements: number;
  uploadedBy: string;
  expiresAt?: string;
}

const VEX_HEADER = ['ID', 'SCOPE', 'FORMAT', 'STATEMENTS', 'EXPIRES', 'UPLOADED BY'];
const vexRow = (v: VexItem) => [
  v.id,
  v.scope,
  v.format,
  String(v.statements),
  v.expiresAt ?? '-',
  v.uploadedBy,
];

/** `vex` and its action are one subcommand: `vex put`, `vex list`, `vex delete`. */
function subcommandOf(argv: readonly string[]): [string | undefined, string[]] {
  const [first, second, ...rest] = argv;
  if (first === 'vex' && second !== undefined && !second.startsWith('-'))
    return [`vex ${second}`, rest];
  return [first, argv.slice(1)];
}

export async function remote(argv: string[]): Promise<number> {
  const [name, rest] = subcommandOf(argv);
  if (name === undefined || !Object.hasOwn(SUBCOMMANDS, name))
    throw new UsageError(
      name === undefined
        ? `a subcommand: ${Object.keys(SUBCOMMANDS).join(', ')}`
        : `no subcommand ${JSON.stringify(name)}; one of ${Object.keys(SUBCOMMANDS).join(', ')}`,
    );
  const sub = name as Subcommand;
  const spec = SUBCOMMANDS[sub];
  const { values, positionals } = parseArgs({
    args: rest,
    options: REMOTE_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const allowed = new Set<string>(spec.flags);
  for (const flag of Object.keys(values) as Flag[]) {
    const def = REMOTE_OPTIONS[flag];
    const set = 'default' in def ? values[flag] !== def.default : values[flag] !== undefined;
    if (set && !allowed.has(flag))
      throw new UsageError(`--${flag} is not a flag of bosun remote ${sub}`);
  }
  if (values.format !== 'table' && values.format !== 'json')
    throw new UsageError(`invalid --format ${JSON.stringify(values.format)}: table or json`);
  const required = spec.args.filter((a) => !a.startsWith('[')).length;
  // The scope of suppress/unsuppress may be a flag instead of the first argument.
  const scopeByFlag =
    (sub === 'suppress' || sub === 'unsuppress') && (values.global || values.digest !== undefined);
  const expected = scopeByFlag ? required - 1 : required;
  if (positionals.length < expected || positionals.length > (scopeByFlag ? 1 : spec.args.length))
    throw new UsageError(
      `bosun remote ${sub} takes ${spec.args.join(' ')}; got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`,
    );
  const page: Record<string, string> = {
    ...(values.limit === undefined ? {} : { limit: values.limit }),
    ...(values.cursor === undefined ? {} : { cursor: values.cursor }),
  };
  const expires = values.expires === undefined ? undefined : expiryInstant(values.expires);
  if (sub === 'suppress' && (values.reason === undefined || values.reason.trim() === ''))
    throw new UsageError('--reason TEXT is required: why the finding does not apply');

  const url = await apiUrl(values);
  const region = signingRegion(url, values);
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  const api = new RemoteApi(url, region, defaultProvider());
  const json = values.format === 'json';
  const out = (value: unknown) => print(JSON.stringify(value, null, 2));
  const more = (p: Page<unknown>) => {
    if (p.nextCursor !== undefined)
      print(`(more: --cursor ${p.nextCursor}, or --all for every page)`);
  };
  /** A page as JSON, or as a table with a line saying how to get the next one. */
  const showPage = <T>(p: Page<T>, header: readonly string[], row: (item: T) => string[]) => {
    if (json) return out(p);
    table(header, p.items.map(row));
    more(p);
  };
  const [first = '', second = ''] = positionals;
  const vexBase =
    values.repository === undefined ? 'vex' : `repositories/${seg(values.repository)}/vex`;
  // Read before any request: a file that cannot be read is the caller's mistake (exit 2).
  let document = '';
  if (sub === 'vex put') {
    try {
      document = readFileSync(first, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read the VEX document ${first}: ${(error as Error).message}`);
    }
  }

  try {
    switch (sub) {
      case 'images': {
        const p = await api.list<{
          digest: string;
          tags: string[];
          pushedAt: string;
          status?: string;
          deletedAt?: string;
        }>(`repositories/${seg(first)}/images`, page, values.all);
        showPage(p, ['DIGEST', 'TAGS', 'PUSHED', 'STATUS'], (i) => [
          i.digest,
          i.tags.join(',') || '-',
          i.pushedAt,
          i.deletedAt === undefined ? (i.status ?? '-') : `DELETED ${i.deletedAt}`,
        ]);
        return 0;
      }
      case 'image': {
        const path =
          values.repository === undefined
            ? `images/${seg(first)}`
            : `repositories/${seg(values.repository)}/images/${seg(first)}`;
        const image = (await api.request('GET', path)) as {
          digest: string;
          scan: { status?: string; os?: { prettyName?: string } | string; lastScannedAt?: string };
          repositories: { repository: string; tags: string[]; deletedAt?: string }[];
          inUse: { inUseCount: number };
          findings: {
            total: number;
            byStatus: Record<string, number>;
            bySeverity: Record<string, number>;
          };
          report?: { report: string; sbom: string };
        };
        if (json) out(image);
        else {
          const counts = (r: Record<string, number>) =>
            Object.entries(r)
              .map(([k, n]) => `${k} ${n}`)
              .join(', ') || 'none';
          const os = image.scan.os;
          table(
            ['FIELD', 'VALUE'],
            [
              ['digest', image.digest],
              ['status', image.scan.status ?? '-'],
              ['os', (typeof os === 'string' ? os : os?.prettyName) ?? '-'],
              ['last scanned', image.scan.lastScannedAt ?? '-'],
              ...image.repositories.map((r) => [
                'repository',
                `${r.repository}${r.tags.length === 0 ? '' : `:${r.tags.join(',')}`}${r.deletedAt === undefined ? '' : ' (deleted)'}`,
              ]),
              ['running', String(image.inUse.inUseCount)],
              ['findings', `${image.findings.total} (${counts(image.findings.byStatus)})`],
              ['by severity', counts(image.findings.bySeverity)],
              ...(image.report === undefined
                ? []
                : [
                    ['report', image.report.report],
                    ['sbom', image.report.sbom],
                  ]),
            ],
          );
        }
        return 0;
      }
      case 'findings': {
        const query = {
          ...page,
          ...(values.severity === undefined ? {} : { severity: values.severity.toUpperCase() }),
          ...(values.status === undefined ? {} : { status: values.status.toUpperCase() }),
          ...(values.fixable ? { fixAvailable: 'true' } : {}),
          ...(values.kev ? { kev: 'true' } : {}),
        };
        const path =
          values.digest === undefined
            ? `repositories/${seg(first)}/findings`
            : `repositories/${seg(first)}/images/${seg(values.digest)}/findings`;
        const p = await api.list<FindingItem>(path, query, values.all);
        if (json) out(p);
        else {
          print(
            `${first}: ${p.items.length} findings${p.nextCursor === undefined ? '' : ' on this page'}`,
          );
          if (p.items.length > 0) findingRows(p.items);
          more(p);
        }
        return 0;
      }
      case 'vuln': {
        const p = await api.list<{
          digest: string;
          repositories: { repository: string; tags: string[] }[];
          running: boolean;
          findings: {
            packageName: string;
            installedVersion: string;
            status: string;
            severity: { severity: string };
          }[];
        }>(`vulns/${seg(first)}/images`, page, values.all);
        showPage(p, ['IMAGE', 'REPOSITORIES', 'RUNNING', 'SEVERITY', 'PACKAGES'], (i) => [
          i.digest,
          i.repositories
            .map((r) => `${r.repository}${r.tags.length === 0 ? '' : `:${r.tags.join(',')}`}`)
            .join(' ') || '-',
          i.running ? 'yes' : 'no',
          [...new Set(i.findings.map((f) => f.severity.severity))].join(','),
          i.findings.map((f) => `${f.packageName}@${f.installedVersion} ${f.status}`).join(', '),
        ]);
        return 0;
      }
      case 'tags': {
        const p = await api.list<{ tag: string; digest: string }>(
          `repositories/${seg(first)}/tags`,
          page,
          values.all,
        );
        showPage(p, ['TAG', 'DIGEST'], (t) => [t.tag, t.digest]);
        return 0;
      }
      case 'suppressions': {
        const p = await api.list<SuppressionItem>(
          scopePath(values, positionals[0], false),
          page,
          values.all,
        );
        showPage(p, SUPPRESSION_HEADER, suppressionRow);
        return 0;
      }
      case 'suppress': {
        const [repository, id] = scopeByFlag ? [undefined, first] : [first, second];
        const created = (await api.request(
          'POST',
          scopePath(values, repository, true),
          {},
          {
            vulnerabilityId: id,
            ...(values.package === undefined ? {} : { packageKey: values.package }),
            reason: values.reason,
            ...(expires === undefined ? {} : { expiresAt: expires }),
          },
        )) as SuppressionItem;
        if (json) out(created);
        else table(SUPPRESSION_HEADER, [suppressionRow(created)]);
        return 0;
      }
      case 'unsuppress': {
        const [repository, id] = scopeByFlag ? [undefined, first] : [first, second];
        const base = scopePath(values, repository, true);
        await api.request(
          'DELETE',
          `${base}/${seg(id ?? '')}`,
          values.package === undefined ? {} : { packageKey: values.package },
        );
        if (json) out({ deleted: { vulnerabilityId: id, packageKey: values.package ?? '*' } });
        else print(`deleted the suppression of ${id} (${values.package ?? '*'})`);
        return 0;
      }
      case 'vex put': {
        const put = (await api.request(
          'POST',
          vexBase,
          expires === undefined ? {} : { expiresAt: expires },
          document,
        )) as VexItem & { issues: string[]; rescans: number };
        if (json) out(put);
        else {
          table(VEX_HEADER, [vexRow(put)]);
          for (const issue of put.issues) print(`  issue: ${issue}`);
          print(`rescans queued: ${put.rescans}`);
        }
        return 0;
      }
      case 'vex list': {
        const p = await api.list<VexItem>(vexBase, page, values.all);
        showPage(p, VEX_HEADER, vexRow);
        return 0;
      }
      case 'vex delete': {
        const deleted = (await api.request('DELETE', `${vexBase}/${seg(first)}`)) as {
          rescans: number;
        };
        if (json) out(deleted);
        else print(`deleted the VEX document ${first}; rescans queued: ${deleted.rescans}`);
        return 0;
      }
    }
  } catch (error) {
    if (!(error instanceof RemoteApiError)) throw error;
    console.error(`bosun remote: ${error.message}`);
    return 1;
  }
}
