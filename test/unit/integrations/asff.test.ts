/**
 * Findings as ASFF and their import: the required top-level attributes of the ASFF
 * documentation on every record (typed by @aws-sdk/client-securityhub's AwsSecurityFinding),
 * the ECR image resource, severity and types in FindingProviderFields, the vulnerability with
 * its package, fix, CVSS and KEV; BatchImportFindings within 100 findings, 6 MB and 240 KB,
 * throttling backed off, FailedFindings sent again then reported. Security Hub is a real SDK
 * client answered at its request handler (sdk-fakes.ts).
 */
import type { AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import { describe, expect, it } from 'vitest';
import { rate } from '../../../shared/advisories/severity.js';
import {
  ASFF_SCHEMA_VERSION,
  asffFinding,
  asffId,
  parseProductArn,
  productArnOf,
  SEVERITY_LABELS,
} from '../../../shared/integrations/asff.js';
import { securityHubChanges } from '../../../shared/integrations/changes.js';
import {
  importFindings,
  MAX_FINDING_BYTES,
  MAX_REQUEST_BYTES,
  SecurityHubImportError,
} from '../../../shared/integrations/security-hub.js';
import type { FindingRecord } from '../../../shared/stores/findings-store.js';
import { npmAdvisories } from '../../support/pipeline.js';
import { fakeSecurityHub, importOk } from './sdk-fakes.js';

/**
 * Required top-level attributes, as the ASFF documentation lists them:
 * https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html
 */
const REQUIRED = [
  'AwsAccountId',
  'CreatedAt',
  'Description',
  'GeneratorId',
  'Id',
  'ProductArn',
  'Resources',
  'SchemaVersion',
  'Severity',
  'Title',
  'Types',
  'UpdatedAt',
] as const satisfies readonly (keyof AwsSecurityFinding)[];

const ACCOUNT = '111122223333';
const PRODUCT = productArnOf('aws', 'us-west-2', ACCOUNT);
const DIGEST = `sha256:${'ef'.repeat(32)}`;
const IMAGE = {
  digest: DIGEST,
  registry: `${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com`,
  repositories: ['team/app', 'team/mirror'],
  tags: ['team/app:1.2', 'team/app:latest', 'team/mirror:1.2'],
  platform: 'linux/arm64',
};
const context = { productArn: PRODUCT, image: IMAGE, updatedAt: '2026-12-02T08:00:00.000Z' };

/** A finding of each real npm advisory (with its real severity), `copies` times over. */
function findings(copies = 1, location = 'srv/app/package-lock.json'): FindingRecord[] {
  return npmAdvisories().flatMap((record) => {
    const affected = record.affected?.[0];
    const name = affected?.package?.name ?? 'unknown';
    const severity = rate(record, affected);
    return Array.from({ length: copies }, (_, i) => ({
      digest: DIGEST,
      packageKey: `npm#${name}`,
      installedVersion: `0.0.${i}`,
      vulnerabilityId: record.id,
      ids: [record.id, ...(record.aliases ?? [])].sort(),
      advisoryIds: [record.id],
      status: 'ACTIVE' as const,
      severity,
      severities: [{ ...severity, by: 'GHSA' }],
      fixedVersion: '9.9.9',
      packageName: name,
      location,
      firstObservedAt: '2026-11-29T00:00:00.000Z',
      lastObservedAt: '2026-12-02T08:00:00.000Z',
    }));
  });
}

describe('ASFF records', () => {
  it('carry every required attribute the ASFF documentation lists, for each status', () => {
    const f = findings()[0] as FindingRecord;
    for (const status of ['ACTIVE', 'CLOSED', 'SUPPRESSED'] as const) {
      const asff = asffFinding({ ...f, status }, context);
      for (const field of REQUIRED) {
        expect(asff[field], `${status} ${field}`).toBeDefined();
        expect(asff[field], `${status} ${field}`).not.toEqual('');
      }
      expect(asff.SchemaVersion).toBe(ASFF_SCHEMA_VERSION);
      expect(asff.ProductArn).toBe(
        `arn:aws:securityhub:us-west-2:${ACCOUNT}:product/${ACCOUNT}/default`,
      );
      expect(asff.AwsAccountId).toBe(ACCOUNT);
      expect(asff.Description?.length).toBeLessThanOrEqual(1024);
      expect(asff.Title?.length).toBeLessThanOrEqual(256);
    }
  });

  it('archives closed (RESOLVED) and suppressed findings, and keeps the same Id', () => {
    const f = findings()[0] as FindingRecord;
    const active = asffFinding(f, context);
    const closed = asffFinding({ ...f, status: 'CLOSED', statusReason: 'fixed' }, context);
    const suppressed = asffFinding({ ...f, status: 'SUPPRESSED' }, context);
    expect(active.RecordState).toBe('ACTIVE');
    expect(active.Workflow).toBeUndefined();
    expect(closed).toMatchObject({ RecordState: 'ARCHIVED', Workflow: { Status: 'RESOLVED' } });
    expect(suppressed).toMatchObject({
      RecordState: 'ARCHIVED',
      Workflow: { Status: 'SUPPRESSED' },
    });
    expect(new Set([active.Id, closed.Id, suppressed.Id])).toEqual(new Set([asffId(f)]));
    // Another package version of the same advisory is another finding.
    expect(asffId({ ...f, installedVersion: 'other' })).not.toBe(asffId(f));
  });

  it('describes the ECR image in each repository, severity and types as the provider gives them', () => {
    const f = findings().find((x) => x.ids.some((id) => id.startsWith('CVE-'))) as FindingRecord;
    const asff = asffFinding(f, context);
    expect(asff.Resources).toEqual([
      {
        Type: 'AwsEcrContainerImage',
        Id: `arn:aws:ecr:us-west-2:${ACCOUNT}:repository/team/app/${DIGEST}`,
        Partition: 'aws',
        Region: 'us-west-2',
        Details: {
          AwsEcrContainerImage: {
            RegistryId: ACCOUNT,
            RepositoryName: 'team/app',
            ImageDigest: DIGEST,
            ImageTags: ['1.2', 'latest'],
            Architecture: 'arm64',
          },
        },
      },
      expect.objectContaining({
        Id: `arn:aws:ecr:us-west-2:${ACCOUNT}:repository/team/mirror/${DIGEST}`,
      }),
    ]);
    expect(asff.Types).toEqual(['Software and Configuration Checks/Vulnerabilities/CVE']);
    expect(asff.FindingProviderFields).toEqual({ Severity: asff.Severity, Types: asff.Types });
    expect(asff.Severity?.Label).toBe(SEVERITY_LABELS[f.severity.severity]);
    expect(SEVERITY_LABELS.UNKNOWN).toBe('INFORMATIONAL');
  });

  it('names the package, the fix, CVSS and KEV in the vulnerability', () => {
    const f = findings().find((x) => x.severity.score !== undefined) as FindingRecord;
    const kev = {
      ...f,
      kev: { dateAdded: '2024-03-29' },
      epss: { score: 0.9, percentile: 0.99, date: '2026-12-01' },
    };
    const [v] = asffFinding(kev, context).Vulnerabilities ?? [];
    expect(v).toMatchObject({
      Id: f.vulnerabilityId,
      VulnerablePackages: [
        {
          Name: f.packageName,
          Version: f.installedVersion,
          PackageManager: 'npm',
          FixedInVersion: '9.9.9',
          FilePath: f.location,
        },
      ],
      FixAvailable: 'YES',
      ExploitAvailable: 'YES',
      LastKnownExploitAt: '2024-03-29',
      EpssScore: 0.9,
    });
    expect(v?.Cvss?.[0]).toMatchObject({ BaseScore: f.severity.score, Source: 'GHSA' });
    const { fixedVersion: _f, ...unfixed } = f;
    const [u] = asffFinding(unfixed, context).Vulnerabilities ?? [];
    expect(u).toMatchObject({ FixAvailable: 'NO', ExploitAvailable: 'NO' });
  });

  it('reads back the account of a custom-integration product ARN only', () => {
    expect(parseProductArn(PRODUCT)).toEqual({
      partition: 'aws',
      region: 'us-west-2',
      account: ACCOUNT,
    });
    expect(
      parseProductArn(`arn:aws:securityhub:us-west-2:${ACCOUNT}:product/444455556666/default`),
    ).toBeUndefined();
    expect(parseProductArn('arn:aws:securityhub:us-west-2::product/aws/inspector')).toBeUndefined();
  });
});

describe('which findings of a generation go to Security Hub', () => {
  it('sends new, changed, closed and suppressed ones once; not unchanged or already archived ones', () => {
    const [a, b, c, d, e, g] = findings() as [
      FindingRecord,
      FindingRecord,
      FindingRecord,
      FindingRecord,
      FindingRecord,
      FindingRecord,
    ];
    const items = [
      { ...a, generation: 2 }, // new
      { ...b, fixedVersion: '2.0.0', generation: 2, prior: { ...b, fixedVersion: undefined } }, // fix known
      { ...c, generation: 2, prior: c }, // unchanged, touched by a scan
      { ...d, status: 'CLOSED' as const, generation: 2, prior: d }, // closed
      { ...e, status: 'SUPPRESSED' as const, generation: 2, prior: e }, // suppressed
      { ...g, status: 'SUPPRESSED' as const, generation: 2 }, // suppressed when first seen
      { ...a, installedVersion: 'old', generation: 1 }, // another generation
    ];
    expect(securityHubChanges(items, 2).map((f) => [f.packageName, f.status])).toEqual([
      [a.packageName, 'ACTIVE'],
      [b.packageName, 'ACTIVE'],
      [d.packageName, 'CLOSED'],
      [e.packageName, 'SUPPRESSED'],
    ]);
  });
});

describe('BatchImportFindings', { timeout: 60_000 }, () => {
  it('sends 250 findings as 3 calls of 100, 100 and 50, within the limits', async () => {
    const all = findings(Math.ceil(250 / npmAdvisories().length)).slice(0, 250);
    expect(all).toHaveLength(250);
    const { client, seen } = fakeSecurityHub(importOk);
    const result = await importFindings(
      client,
      all.map((f) => asffFinding(f, context)),
    );
    expect(result).toEqual({ imported: 250, failed: [], calls: 3 });
    expect(seen.map((c) => c.path)).toEqual([
      '/findings/import',
      '/findings/import',
      '/findings/import',
    ]);
    expect(seen.map((c) => (c.body.Findings as unknown[]).length)).toEqual([100, 100, 50]);
    for (const call of seen) {
      expect(Buffer.byteLength(JSON.stringify(call.body))).toBeLessThan(MAX_REQUEST_BYTES);
      for (const f of call.body.Findings as unknown[])
        expect(Buffer.byteLength(JSON.stringify(f))).toBeLessThan(MAX_FINDING_BYTES);
    }
  });

  it('keeps each request under 6 MB with large findings, and reports one over 240 KB unsent', async () => {
    const large = findings(2, `srv/${'x'.repeat(150_000)}/package.json`).slice(0, 60);
    const huge = findings(1, `srv/${'y'.repeat(300_000)}/package.json`)[0] as FindingRecord;
    const { client, seen } = fakeSecurityHub(importOk);
    const result = await importFindings(
      client,
      [...large, huge].map((f) => asffFinding(f, context)),
    );
    expect(result.imported).toBe(60);
    expect(result.failed).toEqual([
      expect.objectContaining({ id: asffId(huge), code: 'FindingTooLarge' }),
    ]);
    expect(seen.length).toBeGreaterThan(1);
    for (const call of seen)
      expect(Buffer.byteLength(JSON.stringify(call.body))).toBeLessThan(MAX_REQUEST_BYTES);
  });

  it('backs off when throttled, and sends FailedFindings again alone before reporting them', async () => {
    const batch = findings()
      .slice(0, 5)
      .map((f) => asffFinding(f, context));
    const [first, second] = [batch[0]?.Id, batch[1]?.Id];
    const { client, seen } = fakeSecurityHub((call, index) => {
      if (index === 0) return { status: 429, error: 'TooManyRequestsException' };
      const sent = call.body.Findings as { Id: string }[];
      const failing = sent.filter((f) => f.Id === first || (index === 1 && f.Id === second));
      return {
        body: {
          FailedCount: failing.length,
          SuccessCount: sent.length - failing.length,
          FailedFindings: failing.map((f) => ({
            Id: f.Id,
            ErrorCode: 'InvalidInput',
            ErrorMessage: 'bad',
          })),
        },
      };
    });
    const result = await importFindings(client, batch, { maxAttempts: 4, baseDelayMs: 1 });
    expect(result.imported).toBe(4);
    expect(result.failed).toEqual([{ id: first, code: 'InvalidInput', message: 'bad' }]);
    expect(seen.map((c) => (c.body.Findings as unknown[]).length)).toEqual([5, 5, 2, 1]);
  });

  it('throws SecurityHubImportError on an error that is not throttling', async () => {
    const { client } = fakeSecurityHub(() => ({ status: 403, error: 'AccessDeniedException' }));
    await expect(
      importFindings(client, [asffFinding(findings()[0] as FindingRecord, context)]),
    ).rejects.toBeInstanceOf(SecurityHubImportError);
  });
});
