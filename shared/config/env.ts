/**
 * The one place where Bosun's runtime configuration is named and validated.
 *
 * The CDK constructs set these variables on each function (they import `ENV_VARS` from here, so
 * the names cannot drift), the local stack derives the same variables from the synthesized
 * template, and every handler reads them through `loadConfig`, which fails at cold start with a
 * message naming each missing or malformed variable.
 */
import * as z from 'zod';
import { parseChecksConfig } from '../checks/config.js';
import { VENDOR_SOURCES } from '../ecosystems.js';
import { parseAllowedHosts } from '../registry/hosts.js';
import { WORKLOAD_SOURCES, type WorkloadSource } from '../workloads/types.js';

const secretArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/,
    'a Secrets Manager secret ARN',
  );

/** Environment variable name for each configuration key. */
export const ENV_VARS = {
  imagesTable: 'BOSUN_IMAGES_TABLE',
  inventoriesTable: 'BOSUN_INVENTORIES_TABLE',
  advisoriesTable: 'BOSUN_ADVISORIES_TABLE',
  findingsTable: 'BOSUN_FINDINGS_TABLE',
  scanQueueUrl: 'BOSUN_SCAN_QUEUE_URL',
  rescanQueueUrl: 'BOSUN_RESCAN_QUEUE_URL',
  feedSyncQueueUrl: 'BOSUN_FEED_SYNC_QUEUE_URL',
  feedEcosystems: 'BOSUN_FEED_ECOSYSTEMS',
  feedVendorSources: 'BOSUN_FEED_VENDOR_SOURCES',
  osvBaseUrl: 'BOSUN_OSV_BASE_URL',
  // The registries the webhook serves, each with its own secret: `host[:port]=<secret ARN>,...`.
  webhookSecrets: 'BOSUN_WEBHOOK_SECRETS',
  webhookReplayWindow: 'BOSUN_WEBHOOK_REPLAY_WINDOW',
  webhookPreviousSecretGrace: 'BOSUN_WEBHOOK_PREVIOUS_SECRET_GRACE',
  nvdApiKeySecretArn: 'BOSUN_NVD_API_KEY_SECRET_ARN',
  findingsTopicArn: 'BOSUN_FINDINGS_TOPIC_ARN',
  reportsBucket: 'BOSUN_REPORTS_BUCKET',
  rescanWindow: 'BOSUN_RESCAN_WINDOW',
  // What the rescan window counts from: `push` (the last push) or `use` (the last push or use).
  rescanWindowFrom: 'BOSUN_RESCAN_WINDOW_FROM',
  // The workload inventory (issue 20, docs/audit.md). The severity is set on the scan, rescan and
  // audit functions whenever the audit is on: on the scan and rescan, unset means no workload is
  // judged. The audit function also reads its sources (`ecs,lambda,eks`), the EKS clusters
  // (names, comma-separated) and the regions its reconcile reads (default: its own).
  auditSeverity: 'BOSUN_AUDIT_SEVERITY',
  auditSources: 'BOSUN_AUDIT_SOURCES',
  auditEksClusters: 'BOSUN_AUDIT_EKS_CLUSTERS',
  auditRegions: 'BOSUN_AUDIT_REGIONS',
  scanMaxReceives: 'BOSUN_SCAN_MAX_RECEIVES',
  // The hardening checks' configuration (issue 21, shared/checks/config.ts), compact JSON.
  imageChecks: 'BOSUN_IMAGE_CHECKS',
  region: 'AWS_REGION',
  // Endpoint overrides exist for the local stack only; in AWS they are unset.
  dynamodbEndpoint: 'BOSUN_DYNAMODB_ENDPOINT',
  sqsEndpoint: 'BOSUN_SQS_ENDPOINT',
  snsEndpoint: 'BOSUN_SNS_ENDPOINT',
  s3Endpoint: 'BOSUN_S3_ENDPOINT',
  // Registry hosts served elsewhere, `host=http://127.0.0.1:5000,...`: the local stack's
  // registry standing in for an ECR host.
  registryEndpoints: 'BOSUN_REGISTRY_ENDPOINTS',
  registryAllowedHosts: 'BOSUN_REGISTRY_ALLOWED_HOSTS',
  // Provenance (issue 19, shared/config/provenance.ts): the policy from one of three places (none:
  // provenance is not checked), the trust material it names, and how long a verdict stands.
  provenancePolicy: 'BOSUN_PROVENANCE_POLICY',
  provenancePolicyS3: 'BOSUN_PROVENANCE_POLICY_S3',
  provenancePolicySsm: 'BOSUN_PROVENANCE_POLICY_SSM',
  provenanceTrustedRoots: 'BOSUN_PROVENANCE_TRUSTED_ROOTS',
  provenanceNotationTrustStore: 'BOSUN_PROVENANCE_NOTATION_TRUST_STORE',
  provenanceMaxAgeHours: 'BOSUN_PROVENANCE_MAX_AGE_HOURS',
  // Integrations (issue 22, docs/integrations.md): every notification also as an event on this
  // bus (name or ARN; unset: no events) with this source (default `bosun`), and, opt-in,
  // findings to Security Hub under this custom-integration product ARN (unset: not sent).
  eventBus: 'BOSUN_EVENT_BUS',
  eventSource: 'BOSUN_EVENT_SOURCE',
  securityHubProductArn: 'BOSUN_SECURITY_HUB_PRODUCT_ARN',
} as const;

/** Days since an image's last push during which advisory changes rescan it, by default. */
export const DEFAULT_RESCAN_WINDOW_DAYS = 90;

/**
 * What the rescan window counts from: the last push, or the later of the last push and the last
 * time a workload ran the image (Amazon Inspector's two rescan durations).
 */
export const RESCAN_WINDOW_FROM = ['push', 'use'] as const;
export type RescanWindowFrom = (typeof RESCAN_WINDOW_FROM)[number];

/** Severities a running image can be judged RUNNING_VULNERABLE at (and above). */
export const AUDIT_SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const;

export type ConfigKey = keyof typeof ENV_VARS;

// DynamoDB table names: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
const tableName = z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name');
const httpUrl = z.url({ protocol: /^https?$/ });
// S3 bucket names: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name');
const seconds = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,7}$/, `a whole number of seconds from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `a whole number of seconds from ${min} to ${max}`);
/** An S3 object (`key` non-empty) or, with `prefix`, a folder (`key` empty or ending in `/`). */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.*)$/;

/** `s3://bucket/key` as bucket and key; undefined when it is not one. */
export function parseS3Uri(uri: string): S3Location | undefined {
  const match = S3_URI.exec(uri);
  if (match === null) return undefined;
  return { bucket: match[1] as string, key: match[2] as string };
}

const s3Object = z.string().transform((s, ctx) => {
  const location = parseS3Uri(s);
  if (location === undefined || location.key === '' || location.key.endsWith('/')) {
    ctx.addIssue({ code: 'custom', message: 'an S3 object URI, s3://bucket/key' });
    return z.NEVER;
  }
  return location;
});
// Parameter Store names: https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-parameter-name-constraints.html
const ssmParameterName = z
  .string()
  .regex(/^(\/?[A-Za-z0-9_.-]+)+$/, 'a Parameter Store parameter name (/bosun/provenance-policy)')
  .max(2048);
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
/** `a,b,c`, each item checked, none repeated. */
const commaList = (item: (s: string) => boolean, message: string) =>
  z
    .string()
    .transform((s) => s.split(',').map((i) => i.trim()))
    .refine((list) => list.every(item) && new Set(list).size === list.length, message);
const topicArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'an SNS topic ARN');

const schemas = {
  imagesTable: tableName,
  inventoriesTable: tableName,
  advisoriesTable: tableName,
  findingsTable: tableName,
  scanQueueUrl: httpUrl,
  rescanQueueUrl: httpUrl,
  feedSyncQueueUrl: httpUrl,
  // OSV ecosystem folders, comma-separated: `PyPI,Go,crates.io,Debian`.
  feedEcosystems: z
    .string()
    .regex(/^[^,]+(,[^,]+)*$/, 'a comma-separated list of OSV ecosystems')
    .transform((s) => s.split(',').map((e) => e.trim())),
  // Publishers' feeds the feed sync reads, comma-separated (`alas:2023,secdb:wolfi`); empty: none.
  feedVendorSources: z
    .string()
    .refine(
      (s) =>
        s === '' || s.split(',').every((id) => (VENDOR_SOURCES as readonly string[]).includes(id)),
      `a comma-separated list of vendor feeds (${VENDOR_SOURCES.join(', ')})`,
    )
    .transform((s) => (s === '' ? [] : s.split(',')))
    .optional(),
  osvBaseUrl: httpUrl.optional(),
  // Registry hosts the webhook serves, each with the ARN of its own secret:
  // `registry.example.com=arn:aws:secretsmanager:...,10.0.0.5:5000=arn:...`.
  webhookSecrets: z
    .string()
    .refine(
      (s) =>
        s.split(',').every((pair) => {
          const [host, arn, ...rest] = pair.split('=');
          return (
            rest.length === 0 &&
            host !== undefined &&
            /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(host) &&
            arn !== undefined &&
            secretArn.safeParse(arn).success
          );
        }),
      'a comma-separated list of host[:port]=<Secrets Manager secret ARN>',
    )
    .transform(
      (s): ReadonlyMap<string, string> =>
        new Map(s.split(',').map((pair) => pair.split('=', 2) as [string, string])),
    ),
  // Seconds a signed timestamp (or, with a bearer secret, an event's own timestamp) may be
  // away from now: older requests are replays.
  webhookReplayWindow: seconds(30, 3600).optional(),
  // Seconds after a rotation during which the previous secret is still accepted.
  webhookPreviousSecretGrace: seconds(0, 30 * 86_400).optional(),
  // NVD's API key (a plain string secret): ten times NVD's request rate for the nvd feed.
  nvdApiKeySecretArn: secretArn.optional(),
  findingsTopicArn: topicArn,
  reportsBucket: bucketName,
  // Days since an image's last push during which advisory changes rescan it, or LIFETIME.
  rescanWindow: z
    .string()
    .regex(/^(LIFETIME|[1-9]\d{0,4})$/, 'a number of days (1-99999) or LIFETIME')
    .transform((s): number | 'LIFETIME' => (s === 'LIFETIME' ? s : Number(s)))
    .optional(),
  // push (default) or use.
  rescanWindowFrom: z.enum(RESCAN_WINDOW_FROM, { message: 'push or use' }).optional(),
  // RUNNING_VULNERABLE at or above this severity (or known exploited).
  auditSeverity: z.enum(AUDIT_SEVERITIES, { message: AUDIT_SEVERITIES.join(', ') }).optional(),
  auditSources: commaList(
    (s) => (WORKLOAD_SOURCES as readonly string[]).includes(s),
    `a comma-separated list of ${WORKLOAD_SOURCES.join(', ')}`,
  ).transform((list) => list as WorkloadSource[]),
  // EKS cluster names: https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html
  auditEksClusters: commaList(
    (s) => /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/.test(s),
    'a comma-separated list of EKS cluster names',
  ).optional(),
  auditRegions: commaList(
    (s) => AWS_REGION.test(s),
    'a comma-separated list of AWS regions such as eu-west-1,us-east-1',
  ).optional(),
  // The scan queue's maxReceiveCount: the delivery that is the last before the dead-letter queue.
  scanMaxReceives: z
    .string()
    .regex(/^[1-9]\d{0,3}$/, 'a whole number from 1 to 9999')
    .transform(Number)
    .optional(),
  imageChecks: z
    .string()
    .transform((s, ctx) => {
      try {
        return parseChecksConfig(s, 'BOSUN_IMAGE_CHECKS');
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  region: z.string().regex(AWS_REGION, 'an AWS region such as eu-west-1'),
  dynamodbEndpoint: httpUrl.optional(),
  sqsEndpoint: httpUrl.optional(),
  snsEndpoint: httpUrl.optional(),
  s3Endpoint: httpUrl.optional(),
  registryEndpoints: z
    .string()
    .regex(
      /^[A-Za-z0-9.-]+(:\d{1,5})?=https?:\/\/[^,\s]+(,[A-Za-z0-9.-]+(:\d{1,5})?=https?:\/\/[^,\s]+)*$/,
      'a comma-separated list of host=URL',
    )
    .transform((s) => new Map(s.split(',').map((pair) => pair.split('=', 2) as [string, string])))
    .optional(),
  // registry=host pairs, comma-separated: hosts a registry may redirect to (shared/registry/hosts.ts).
  registryAllowedHosts: z
    .string()
    .transform((s, ctx) => {
      try {
        return parseAllowedHosts(s.split(','));
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  // The policy itself, YAML.
  provenancePolicy: z.string().optional(),
  provenancePolicyS3: s3Object.optional(),
  provenancePolicySsm: ssmParameterName.optional(),
  // Sigstore TrustedRoot documents by the name policies give them: {"public-good":"s3://b/k"}.
  provenanceTrustedRoots: z
    .string()
    .transform((s, ctx) => {
      const problem = 'a JSON object of trusted root names to s3://bucket/key URIs';
      let raw: unknown;
      try {
        raw = JSON.parse(s);
      } catch {
        ctx.addIssue({ code: 'custom', message: problem });
        return z.NEVER;
      }
      const parsed = z.record(z.string().min(1), s3Object).safeParse(raw);
      if (!parsed.success || Array.isArray(raw)) {
        ctx.addIssue({ code: 'custom', message: problem });
        return z.NEVER;
      }
      return parsed.data as Readonly<Record<string, S3Location>>;
    })
    .optional(),
  // Notation's trust store layout (x509/<type>/<name>/<files>) under an S3 prefix ending in `/`,
  // or in one zip object (a CDK asset of a local folder).
  provenanceNotationTrustStore: z
    .string()
    .transform((s, ctx) => {
      const location = parseS3Uri(s);
      if (
        location === undefined ||
        !(location.key === '' || location.key.endsWith('/') || location.key.endsWith('.zip'))
      ) {
        ctx.addIssue({
          code: 'custom',
          message: 'an S3 prefix ending in "/" (s3://bucket/prefix/) or a zip object (.zip)',
        });
        return z.NEVER;
      }
      return location;
    })
    .optional(),
  // Hours a stored verdict stands before it is decided again (expiry, revocation).
  provenanceMaxAgeHours: z
    .string()
    .regex(/^[1-9]\d{0,3}$/, 'a whole number of hours from 1 to 8760')
    .transform(Number)
    .refine((n) => n <= 8760, 'a whole number of hours from 1 to 8760')
    .optional(),
  // Event bus names and ARNs: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html
  eventBus: z
    .string()
    .regex(
      /^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[A-Za-z0-9._\-/]{1,256}$/,
      'an event bus name or ARN',
    )
    .optional(),
  // `aws.` is reserved for AWS services' events.
  eventSource: z
    .string()
    .regex(/^(?!aws\.)[A-Za-z0-9._\-/]{1,256}$/, 'an event source such as bosun or bosun.prod')
    .optional(),
  securityHubProductArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:(\d{12}):product\/\1\/default$/,
      'arn:aws:securityhub:<region>:<account>:product/<account>/default',
    )
    .optional(),
} satisfies Record<ConfigKey, z.ZodType>;

type Schemas = typeof schemas;
export type Config<K extends ConfigKey> = { readonly [P in K]: z.output<Schemas[P]> };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

/**
 * Reads and validates the given keys from the environment. Every problem is reported at once,
 * each naming the variable, so a misconfigured deployment is fixed in one round.
 */
export function loadConfig<const K extends ConfigKey>(
  keys: readonly K[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config<K> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const variable = ENV_VARS[key];
    const raw = env[variable];
    const value = raw === '' ? undefined : raw;
    const schema: z.ZodType = schemas[key];
    const parsed = schema.safeParse(value);
    if (parsed.success) {
      out[key] = parsed.data;
    } else if (value === undefined) {
      problems.push(`${variable} is not set`);
    } else {
      const expected = parsed.error.issues[0]?.message ?? 'invalid value';
      problems.push(`${variable}=${JSON.stringify(value)} is not valid (${expected})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Config<K>;
}
