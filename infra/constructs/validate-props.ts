import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { checksConfigEnvValue } from '../../shared/checks/config.js';
import { DEFAULT_RESCAN_WINDOW_DAYS } from '../../shared/config/env.js';
import {
  DEFAULT_OSV_ECOSYSTEMS,
  DEFAULT_VENDOR_SOURCES,
  VENDOR_SOURCES,
} from '../../shared/ecosystems.js';
import { backfillMessage } from '../../shared/events/backfill.js';
import { parseAllowedHosts } from '../../shared/registry/hosts.js';
import { describeIssues } from '../../shared/zod-issues.js';
import { type AuditSettings, auditSettings } from './audit.js';
import type { BackfillProps, BackfillSettings } from './backfill.js';
import type { BosunFunctionProps } from './bosun-function.js';
import type { ImageScannerProps } from './image-scanner.js';
import { type IntegrationSettings, integrationSettings } from './integrations.js';
import { checkProvenanceProps, type ProvenanceProps } from './provenance.js';
import { checkMaxReceiveCount } from './queue-with-dlq.js';

/** ECR repositories to scan, split the way EventBridge patterns and IAM ARNs need them. */
export interface RepositoryFilter {
  /** Exact repository names. */
  readonly exact: readonly string[];
  /** Name prefixes, without their trailing `*`. */
  readonly prefixes: readonly string[];
}

/** `ImageScannerProps` with every default applied and every value checked. */
export interface ScannerSettings {
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: BosunFunctionProps['logLevel'];
  readonly maxReceiveCount: number;
  /** `undefined`: every repository of the stack's account and region. */
  readonly repositories: RepositoryFilter | undefined;
  readonly scanTimeout: Duration;
  readonly scanQueueVisibilityTimeout: Duration;
  readonly scanMemoryMiB: number;
  readonly scanBatchSize: number;
  readonly maxScanAge: Duration;
  readonly rescanTimeout: Duration;
  readonly rescanWindowDays: number | 'LIFETIME';
  readonly feedSyncInterval: Duration;
  readonly feedSyncTimeout: Duration;
  readonly feedEcosystems: readonly string[];
  readonly feedVendorSources: readonly string[];
  /** `undefined`: OSV's public bucket. */
  readonly osvBaseUrl: string | undefined;
  /** Empty: no webhook is built. */
  readonly webhookRegistries: readonly string[];
  readonly webhookReplayWindow: Duration;
  readonly webhookPreviousSecretGrace: Duration;
  readonly webhookReservedConcurrency: number;
  /** BOSUN_REGISTRY_ALLOWED_HOSTS's value, or undefined for none. */
  readonly registryAllowedHosts: string | undefined;
  /** `undefined`: provenance is not checked. */
  readonly provenance: ProvenanceProps | undefined;
  /** BOSUN_IMAGE_CHECKS's value (compact JSON), or undefined for the checks' defaults. */
  readonly imageChecks: string | undefined;
  /** The deploy-time backfill; `undefined`: none (`backfill: false`). */
  readonly backfill: BackfillSettings | undefined;
  /** The workload inventory; `undefined`: none (`audit: false`). */
  readonly audit: AuditSettings | undefined;
  /** EventBridge events and Security Hub findings (docs/integrations.md). */
  readonly integrations: IntegrationSettings;
}

// ECR repository names: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const REPOSITORY_PREFIX = /^[a-z0-9][a-z0-9._/-]*$/;
// What a registry event's `request.host` can be (shared/events/registry-notification.ts).
const WEBHOOK_REGISTRY = /^[A-Za-z0-9.-]+(:\d{1,5})?$/;

function parseRepositories(repositories: readonly string[]): RepositoryFilter {
  if (repositories.length === 0) {
    throw new Error(
      'repositories must name at least one repository or prefix; omit it to scan all',
    );
  }
  const exact: string[] = [];
  const prefixes: string[] = [];
  for (const entry of repositories) {
    if (entry.endsWith('*')) {
      const prefix = entry.slice(0, -1);
      if (!REPOSITORY_PREFIX.test(prefix)) {
        throw new Error(
          `repository prefix "${entry}" is not valid: use a name start followed by one '*', e.g. "team-a/*"`,
        );
      }
      prefixes.push(prefix);
    } else if (REPOSITORY_NAME.test(entry) && entry.length >= 2 && entry.length <= 256) {
      exact.push(entry);
    } else {
      throw new Error(
        `repository "${entry}" is not a valid ECR repository name (lowercase, digits, ".", "_", "-", "/")`,
      );
    }
  }
  return { exact, prefixes };
}

/**
 * The deploy-time backfill: `{ id: 'initial' }` scoped to the construct's repositories unless
 * the prop says otherwise, checked as the backfill message is (shared/events/backfill.ts). A
 * scope must stay within the construct's repositories: the function may describe only those.
 */
function parseBackfill(
  prop: BackfillProps | false | undefined,
  filter: RepositoryFilter | undefined,
): BackfillSettings | undefined {
  if (prop === false) return undefined;
  const own = prop?.repositories !== undefined || prop?.prefixes !== undefined;
  const scope = own
    ? { repositories: prop?.repositories, prefixes: prop?.prefixes }
    : {
        repositories: filter === undefined || filter.exact.length === 0 ? undefined : filter.exact,
        prefixes:
          filter === undefined || filter.prefixes.length === 0 ? undefined : filter.prefixes,
      };
  const checked = backfillMessage.safeParse({
    version: 1,
    backfill: { id: prop?.id ?? 'initial', ...scope },
  });
  if (!checked.success)
    throw new Error(
      `backfill: ${describeIssues(checked.error)
        .join('; ')
        .replace(/backfill\./g, '')}`,
    );
  const { id, repositories, prefixes } = checked.data.backfill;
  if (filter !== undefined) {
    const covered = (name: string) =>
      filter.exact.includes(name) || filter.prefixes.some((p) => name.startsWith(p));
    const outside = [
      ...(repositories ?? []).filter((r) => !covered(r)),
      ...(prefixes ?? []).filter((p) => !filter.prefixes.some((f) => p.startsWith(f))),
    ];
    if (outside.length > 0)
      throw new Error(
        `backfill scope ${JSON.stringify(outside)} is outside the construct's repositories (${[...filter.exact, ...filter.prefixes.map((p) => `${p}*`)].join(', ')})`,
      );
  }
  const norm = (list: readonly string[]) => [...new Set(list)].sort();
  return {
    id: id ?? 'initial',
    ...(repositories === undefined ? {} : { repositories: norm(repositories) }),
    ...(prefixes === undefined ? {} : { prefixes: norm(prefixes) }),
  };
}

function checkDuration(name: string, value: Duration, min: Duration, max: Duration): void {
  // A token is known only at deploy time, where the service checks it.
  if (Token.isUnresolved(value.toSeconds())) return;
  const seconds = value.toSeconds();
  if (seconds < min.toSeconds() || seconds > max.toSeconds()) {
    throw new Error(
      `${name} must be between ${min.toHumanString()} and ${max.toHumanString()}, got ${value.toHumanString()}`,
    );
  }
}

/**
 * Applies `ImageScanner`'s defaults and checks every prop, without creating anything. Throws on
 * the first bad value, naming it and the allowed ones; the checks run in a fixed order, so the
 * same props always fail with the same message.
 */
export function validateProps(props: ImageScannerProps = {}): ScannerSettings {
  const repositories =
    props.repositories === undefined ? undefined : parseRepositories(props.repositories);

  const scanTimeout = props.scanTimeout ?? Duration.minutes(5);
  const rescanTimeout = props.rescanTimeout ?? Duration.minutes(5);
  const feedSyncTimeout = props.feedSyncTimeout ?? Duration.minutes(10);
  for (const [name, value] of [
    ['scanTimeout', scanTimeout],
    ['rescanTimeout', rescanTimeout],
    ['feedSyncTimeout', feedSyncTimeout],
  ] as const) {
    checkDuration(name, value, Duration.seconds(10), Duration.minutes(15));
  }
  const scanQueueVisibilityTimeout =
    props.scanQueueVisibilityTimeout ?? Duration.seconds(scanTimeout.toSeconds() * 6);
  // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-queueconfig
  checkDuration(
    'scanQueueVisibilityTimeout',
    scanQueueVisibilityTimeout,
    Duration.seconds(scanTimeout.toSeconds() * 6),
    Duration.hours(12),
  );
  // One full vCPU, measured as the cheapest size that does not slow a scan (docs/cost.md).
  const scanMemoryMiB = props.scanMemoryMiB ?? 1769;
  if (!Number.isInteger(scanMemoryMiB) || scanMemoryMiB < 512 || scanMemoryMiB > 10240) {
    throw new Error(`scanMemoryMiB must be an integer from 512 to 10240, got ${scanMemoryMiB}`);
  }
  const scanBatchSize = props.scanBatchSize ?? 1;
  if (!Number.isInteger(scanBatchSize) || scanBatchSize < 1 || scanBatchSize > 10) {
    throw new Error(`scanBatchSize must be an integer from 1 to 10, got ${scanBatchSize}`);
  }
  const feedSyncInterval = props.feedSyncInterval ?? Duration.hours(1);
  checkDuration('feedSyncInterval', feedSyncInterval, Duration.minutes(5), Duration.days(7));

  const rescanWindowDays = props.rescanWindowDays ?? DEFAULT_RESCAN_WINDOW_DAYS;
  if (
    rescanWindowDays !== 'LIFETIME' &&
    (!Number.isInteger(rescanWindowDays) || rescanWindowDays < 1 || rescanWindowDays > 99_999)
  )
    throw new Error(
      `rescanWindowDays must be an integer from 1 to 99999 or 'LIFETIME', got ${rescanWindowDays}`,
    );

  const maxReceiveCount = checkMaxReceiveCount(props.maxReceiveCount ?? 3);
  const feedEcosystems = props.feedEcosystems ?? DEFAULT_OSV_ECOSYSTEMS;
  if (feedEcosystems.length === 0 || feedEcosystems.some((e) => e.trim() === '' || e.includes(',')))
    throw new Error(
      `feedEcosystems must be a non-empty list of OSV ecosystem names without commas, got ${JSON.stringify(feedEcosystems)}`,
    );
  // A deployment that reads OSV from a mirror is kept off the public internet: no vendor feed
  // by default.
  const feedVendorSources =
    props.feedVendorSources ?? (props.osvBaseUrl === undefined ? DEFAULT_VENDOR_SOURCES : []);
  const unknownSource = feedVendorSources.find(
    (r) => !(VENDOR_SOURCES as readonly string[]).includes(r),
  );
  if (unknownSource !== undefined)
    throw new Error(
      `feedVendorSources must name vendor feeds Bosun reads (${VENDOR_SOURCES.join(', ')}), got ${JSON.stringify(unknownSource)}`,
    );
  if (props.osvBaseUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(props.osvBaseUrl))
    throw new Error(`osvBaseUrl must be an http(s) URL, got ${JSON.stringify(props.osvBaseUrl)}`);

  const allowedPairs = Object.entries(props.registryAllowedHosts ?? {}).flatMap(
    ([registry, hosts]) => hosts.map((host) => `${registry}=${host}`),
  );
  try {
    parseAllowedHosts(allowedPairs);
  } catch (error) {
    throw new Error(`registryAllowedHosts: ${(error as Error).message}`);
  }
  const registryAllowedHosts = allowedPairs.length === 0 ? undefined : allowedPairs.join(',');

  const webhookRegistries = props.webhookRegistries ?? [];
  for (const host of webhookRegistries)
    if (!WEBHOOK_REGISTRY.test(host))
      throw new Error(
        `webhookRegistries entry ${JSON.stringify(host)} is not a registry host[:port] (e.g. "registry.example.com" or "10.0.0.5:5000")`,
      );
  const duplicate = webhookRegistries.find((h, i) => webhookRegistries.indexOf(h) !== i);
  if (duplicate !== undefined)
    throw new Error(`webhookRegistries names ${JSON.stringify(duplicate)} twice`);
  const webhookReplayWindow = props.webhookReplayWindow ?? Duration.minutes(5);
  checkDuration(
    'webhookReplayWindow',
    webhookReplayWindow,
    Duration.seconds(30),
    Duration.hours(1),
  );
  const webhookPreviousSecretGrace = props.webhookPreviousSecretGrace ?? Duration.days(1);
  checkDuration(
    'webhookPreviousSecretGrace',
    webhookPreviousSecretGrace,
    Duration.seconds(0),
    Duration.days(30),
  );
  const webhookReservedConcurrency = props.webhookReservedConcurrency ?? 5;
  if (
    !Number.isInteger(webhookReservedConcurrency) ||
    webhookReservedConcurrency < 1 ||
    webhookReservedConcurrency > 100
  )
    throw new Error(
      `webhookReservedConcurrency must be an integer from 1 to 100, got ${webhookReservedConcurrency}`,
    );

  if (props.provenance !== undefined) {
    checkProvenanceProps(props.provenance);
    const timeout = props.provenance.timeout;
    if (timeout !== undefined)
      checkDuration('provenance.timeout', timeout, Duration.seconds(30), Duration.minutes(15));
  }

  return {
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    logLevel: props.logLevel ?? 'INFO',
    maxReceiveCount,
    repositories,
    scanTimeout,
    scanQueueVisibilityTimeout,
    scanMemoryMiB,
    scanBatchSize,
    maxScanAge: props.maxScanAge ?? Duration.minutes(15),
    rescanTimeout,
    rescanWindowDays,
    feedSyncInterval,
    feedSyncTimeout,
    feedEcosystems,
    feedVendorSources,
    osvBaseUrl: props.osvBaseUrl,
    webhookRegistries,
    registryAllowedHosts,
    webhookReplayWindow,
    webhookPreviousSecretGrace,
    webhookReservedConcurrency,
    provenance: props.provenance,
    imageChecks:
      props.imageChecks === undefined
        ? undefined
        : checksConfigEnvValue(props.imageChecks, 'imageChecks'),
    backfill: parseBackfill(props.backfill, repositories),
    audit: auditSettings(props.audit),
    integrations: integrationSettings(props.events, props.securityHub),
  };
}
