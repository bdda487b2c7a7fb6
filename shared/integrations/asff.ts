/**
 * A finding as an AWS Security Finding Format record (issue 22, docs/integrations.md), typed by
 * @aws-sdk/client-securityhub's AwsSecurityFinding. Required top-level attributes:
 * https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html.
 * Severity and Types go in FindingProviderFields too, which is where a finding provider's own
 * values live once a user has changed the top-level ones
 * (https://docs.aws.amazon.com/securityhub/latest/userguide/finding-update-batchimportfindings.html).
 */
import { createHash } from 'node:crypto';
import type {
  AwsSecurityFinding,
  Cvss,
  Resource,
  SeverityLabel,
} from '@aws-sdk/client-securityhub';
import type { Severity } from '../advisories/severity.js';
import type { NotificationImage } from '../notifications/message.js';
import { type FindingRecord, findingSortKey } from '../stores/findings-store.js';

export const ASFF_SCHEMA_VERSION = '2018-10-08';
export const GENERATOR_ID = 'bosun/image-vulnerabilities';

// Attribute length limits of the API reference (AwsSecurityFinding, Resource).
const MAX_TITLE = 256;
const MAX_DESCRIPTION = 1024;
const MAX_RESOURCES = 32;

/**
 * The product ARN of an account's own findings (custom integrations):
 * https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-custom-providers.html
 */
export function productArnOf(partition: string, region: string, account: string): string {
  return `arn:${partition}:securityhub:${region}:${account}:product/${account}/default`;
}

const PRODUCT_ARN =
  /^arn:(aws[a-z-]*):securityhub:([a-z0-9-]+):(\d{12}):product\/(\d{12})\/default$/;

/** The partition, region and account of a custom-integration product ARN; undefined if not one. */
export function parseProductArn(
  arn: string,
): { partition: string; region: string; account: string } | undefined {
  const m = PRODUCT_ARN.exec(arn);
  if (m === null || m[3] !== m[4]) return undefined;
  return { partition: m[1] as string, region: m[2] as string, account: m[3] as string };
}

/** Bosun's severities as ASFF labels: NONE and UNKNOWN (no source rates it) are informational. */
export const SEVERITY_LABELS: Readonly<Record<Severity, SeverityLabel>> = {
  CRITICAL: 'CRITICAL',
  HIGH: 'HIGH',
  MEDIUM: 'MEDIUM',
  LOW: 'LOW',
  NONE: 'INFORMATIONAL',
  UNKNOWN: 'INFORMATIONAL',
};

/** The finding's Id: one per digest and finding key, the same across updates. */
export function asffId(f: FindingRecord): string {
  const key = createHash('sha256').update(findingSortKey(f)).digest('hex').slice(0, 32);
  return `bosun/${f.digest}/${key}`;
}

// ECR registry hosts: https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/** One resource per repository the digest is pushed to (ECR images with their details). */
function resourcesOf(f: FindingRecord, image: NotificationImage, partition: string): Resource[] {
  const ecr = image.registry === undefined ? null : ECR_HOST.exec(image.registry);
  const architecture = image.platform?.split('/')[1];
  const repositories = image.repositories.length === 0 ? [undefined] : image.repositories;
  return repositories.slice(0, MAX_RESOURCES).map((repository): Resource => {
    if (ecr !== null && repository !== undefined) {
      const [, registryId, region] = ecr as unknown as [string, string, string];
      const tags = image.tags
        .filter((t) => t.startsWith(`${repository}:`))
        .map((t) => t.slice(repository.length + 1));
      return {
        Type: 'AwsEcrContainerImage',
        Id: `arn:${partition}:ecr:${region}:${registryId}:repository/${repository}/${f.digest}`,
        Partition: partition as Resource['Partition'],
        Region: region,
        Details: {
          AwsEcrContainerImage: {
            RegistryId: registryId,
            RepositoryName: repository,
            ImageDigest: f.digest,
            ...(tags.length === 0 ? {} : { ImageTags: tags }),
            ...(architecture === undefined ? {} : { Architecture: architecture }),
          },
        },
      };
    }
    // Another registry's image (the webhook's): ASFF has no resource type for it.
    const name = `${image.registry ?? 'unknown'}/${repository ?? 'unknown'}@${f.digest}`;
    return { Type: 'Other', Id: name, Details: { Other: { image: name } } };
  });
}

/** The CVSS version of a vector (`CVSS:3.1/…`, `CVSS:4.0/…`; a bare vector is v2). */
function cvssOf(f: FindingRecord): Cvss[] {
  return (f.severities ?? [])
    .filter((r) => r.score !== undefined && r.source.startsWith('CVSS_'))
    .map((r) => ({
      Version:
        /^CVSS:(\d\.\d)\//.exec(r.vector ?? '')?.[1] ??
        (r.source === 'CVSS_V2' ? '2.0' : r.source.slice(6)),
      BaseScore: r.score as number,
      ...(r.vector === undefined ? {} : { BaseVector: r.vector }),
      Source: r.by,
    }));
}

function description(f: FindingRecord, image: NotificationImage): string {
  const where = image.repositories[0] ?? image.digest;
  const fix =
    f.fixedVersion === undefined
      ? `No fixed version is published${f.fixState === undefined ? '' : ` (${f.fixState})`}.`
      : `Fixed in ${f.fixedVersion}${f.fixVia === undefined ? '' : ` (${f.fixVia})`}.`;
  const also = f.ids.filter((id) => id !== f.vulnerabilityId);
  return `${f.packageName} ${f.installedVersion} in ${where}@${f.digest} is affected by ${f.vulnerabilityId}${also.length === 0 ? '' : ` (${also.join(', ')})`}. ${fix}`.slice(
    0,
    MAX_DESCRIPTION,
  );
}

export interface AsffContext {
  /** `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`. */
  readonly productArn: string;
  readonly image: NotificationImage;
  /** When this version of the finding was committed: later for every change. */
  readonly updatedAt: string;
}

/**
 * The ASFF record of a finding. ACTIVE findings are ACTIVE records; a CLOSED or SUPPRESSED one
 * is ARCHIVED, with the workflow RESOLVED or SUPPRESSED (Security Hub moves the workflow back to
 * NEW if the same Id becomes ACTIVE again).
 */
export function asffFinding(f: FindingRecord, context: AsffContext): AwsSecurityFinding {
  const product = parseProductArn(context.productArn);
  if (product === undefined)
    throw new Error(`${context.productArn} is not a custom-integration product ARN`);
  const label = SEVERITY_LABELS[f.severity.severity];
  const types = [
    f.ids.some((id) => id.startsWith('CVE-')) || f.vulnerabilityId.startsWith('CVE-')
      ? 'Software and Configuration Checks/Vulnerabilities/CVE'
      : 'Software and Configuration Checks/Vulnerabilities',
  ];
  const severity = {
    Label: label,
    Original: `${f.severity.severity}${f.severity.score === undefined ? '' : ` ${f.severity.score}`}`,
  };
  const ecosystem = f.packageKey.slice(0, f.packageKey.indexOf('#'));
  const cvss = cvssOf(f);
  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: asffId(f),
    ProductArn: context.productArn,
    ProductName: 'Bosun',
    CompanyName: 'Bosun',
    GeneratorId: GENERATOR_ID,
    AwsAccountId: product.account,
    Region: product.region,
    Types: types,
    CreatedAt: f.firstObservedAt,
    UpdatedAt: context.updatedAt,
    FirstObservedAt: f.firstObservedAt,
    LastObservedAt: f.lastObservedAt,
    Severity: severity,
    FindingProviderFields: { Severity: severity, Types: types },
    Title: `${f.vulnerabilityId} - ${f.packageName} ${f.installedVersion}`.slice(0, MAX_TITLE),
    Description: description(f, context.image),
    Resources: resourcesOf(f, context.image, product.partition),
    RecordState: f.status === 'ACTIVE' ? 'ACTIVE' : 'ARCHIVED',
    ...(f.status === 'CLOSED' ? { Workflow: { Status: 'RESOLVED' } } : {}),
    ...(f.status === 'SUPPRESSED' ? { Workflow: { Status: 'SUPPRESSED' } } : {}),
    ProductFields: {
      'bosun/status': f.status,
      ...(f.statusReason === undefined
        ? {}
        : { 'bosun/statusReason': f.statusReason.slice(0, 1000) }),
      'bosun/packageKey': f.packageKey,
      'bosun/severitySource': f.severity.source,
    },
    Vulnerabilities: [
      {
        Id: f.vulnerabilityId,
        ...(f.ids.length > 1
          ? { RelatedVulnerabilities: f.ids.filter((id) => id !== f.vulnerabilityId) }
          : {}),
        VulnerablePackages: [
          {
            Name: f.packageName,
            Version: f.installedVersion,
            PackageManager: ecosystem,
            ...(f.fixedVersion === undefined ? {} : { FixedInVersion: f.fixedVersion }),
            ...(f.location === undefined ? {} : { FilePath: f.location }),
            ...(f.layer === undefined ? {} : { SourceLayerHash: f.layer }),
          },
        ],
        ...(cvss.length === 0 ? {} : { Cvss: cvss }),
        FixAvailable: f.fixedVersion === undefined ? 'NO' : 'YES',
        // Known exploited: CISA's KEV catalogue lists the CVE.
        ExploitAvailable: f.kev === undefined ? 'NO' : 'YES',
        ...(f.kev === undefined ? {} : { LastKnownExploitAt: f.kev.dateAdded }),
        ...(f.epss === undefined ? {} : { EpssScore: f.epss.score }),
      },
    ],
  };
}
