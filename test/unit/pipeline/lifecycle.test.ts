/**
 * The findings lifecycle, pure: how a generation is planned from what is stored and what was
 * observed, and which changes a committed generation announces.
 */
import { describe, expect, it } from 'vitest';
import {
  changesOf,
  type FindingDraft,
  planGeneration,
} from '../../../shared/pipeline/lifecycle.js';
import type { FindingRecord, StoredFinding } from '../../../shared/stores/findings-store.js';

const DIGEST = `sha256:${'12'.repeat(32)}`;
// Alpine's secdb entry for musl 1.1.22-r2 (CVE-2019-14697), fixed in 1.1.22-r3.
const draft: FindingDraft = {
  digest: DIGEST,
  packageKey: 'Alpine:v3.10#musl',
  installedVersion: '1.1.22-r2',
  vulnerabilityId: 'CVE-2019-14697',
  ids: ['ALPINE-CVE-2019-14697', 'CVE-2019-14697'],
  advisoryIds: ['ALPINE-CVE-2019-14697'],
  status: 'ACTIVE',
  severity: { severity: 'UNKNOWN', source: 'none' },
  packageName: 'musl',
};
const T0 = '2026-11-01T00:00:00.000Z';
const T1 = '2026-11-02T00:00:00.000Z';
const active: FindingRecord = { ...draft, firstObservedAt: T0, lastObservedAt: T0 };
const plan = (stored: StoredFinding[], observed: FindingDraft[], committed = 1, touch = false) =>
  planGeneration({
    digest: DIGEST,
    stored,
    committed,
    generation: committed + 1,
    observed,
    closeReason: () => 'fixed',
    touchUnchanged: touch,
    now: T1,
  });

describe('findings lifecycle', () => {
  it('writes nothing for an unchanged finding on a rescan, and refreshes it on a scan', () => {
    expect(plan([{ ...active, generation: 1 }], [draft]).writes).toEqual([]);
    const [touched] = plan([{ ...active, generation: 1 }], [draft], 1, true).writes;
    expect(touched).toMatchObject({ firstObservedAt: T0, lastObservedAt: T1, generation: 2 });
    expect(changesOf([touched as StoredFinding], 2)).toEqual({
      added: [],
      resolved: [],
      fixAvailable: [],
      rerated: [],
    });
  });

  it('announces a fix that became available, and a finding no longer observed as resolved', () => {
    const fixed = { ...draft, fixedVersion: '1.1.22-r3' };
    const { writes } = plan([{ ...active, generation: 1 }], [fixed]);
    expect(writes[0]).toMatchObject({ fixAvailableSince: T1, prior: active });
    expect(changesOf(writes, 2).fixAvailable).toHaveLength(1);
    const gone = plan([{ ...active, generation: 1 }], []).writes;
    expect(gone[0]).toMatchObject({ status: 'CLOSED', statusReason: 'fixed', closedAt: T1 });
    expect(changesOf(gone, 2).resolved).toHaveLength(1);
  });

  it('reopens a closed finding as new', () => {
    const closed = { ...active, status: 'CLOSED' as const, statusReason: 'fixed', closedAt: T0 };
    const { writes } = plan([{ ...closed, generation: 1 }], [draft]);
    expect(writes[0]).toMatchObject({ status: 'ACTIVE', firstObservedAt: T1 });
    expect(changesOf(writes, 2).added).toHaveLength(1);
  });

  it('undoes what an uncommitted attempt wrote and this one does not observe', () => {
    const other = { ...draft, vulnerabilityId: 'CVE-2019-0000', ids: ['CVE-2019-0000'] };
    // Attempt at generation 2 (never committed): closed `active`, added `other`.
    const leftovers: StoredFinding[] = [
      { ...active, status: 'CLOSED', closedAt: T1, generation: 2, prior: active },
      { ...other, firstObservedAt: T1, lastObservedAt: T1, generation: 2 },
    ];
    // The retry observes `active` still there and not `other`.
    const { writes, removes } = plan(leftovers, [draft]);
    expect(removes.map((f) => f.vulnerabilityId)).toEqual(['CVE-2019-0000']);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ status: 'ACTIVE', generation: 2, prior: active });
    expect(changesOf(writes, 2)).toEqual({
      added: [],
      resolved: [],
      fixAvailable: [],
      rerated: [],
    });
  });
});
