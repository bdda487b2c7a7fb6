/**
 * Which findings of a committed generation Security Hub hears about: each that became or stays
 * ACTIVE with a change Security Hub shows (new, reopened, severity, score, fix, known exploited,
 * ids), and each that stopped being ACTIVE (closed, suppressed), which goes out ARCHIVED. A
 * finding that was not ACTIVE before and is not now (suppressed when first seen, closed again)
 * was never in Security Hub, or was archived already: it is not sent, so ARCHIVED goes out once.
 */
import type { FindingRecord, StoredFinding } from '../stores/findings-store.js';

/** What an ASFF record shows of an active finding, besides its status. */
const shown = (f: FindingRecord) =>
  JSON.stringify([
    f.severity.severity,
    f.severity.score ?? '',
    f.fixedVersion ?? '',
    f.fixVia ?? '',
    f.kev?.dateAdded ?? '',
    f.ids,
  ]);

export function securityHubChanges(
  items: readonly StoredFinding[],
  generation: number,
): FindingRecord[] {
  const out: FindingRecord[] = [];
  for (const item of items) {
    if (item.generation !== generation) continue;
    const { generation: _g, prior, ...after } = item;
    const wasActive = prior?.status === 'ACTIVE';
    if (after.status === 'ACTIVE') {
      if (!wasActive || shown(prior) !== shown(after)) out.push(after);
    } else if (wasActive) out.push(after);
  }
  return out;
}
