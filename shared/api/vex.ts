/**
 * VEX documents through the API (docs/vex.md): OpenVEX 0.2 or CycloneDX VEX, global or per
 * repository, with an optional expiry and the calling IAM principal as who put them. The scan
 * and rescan apply them (pipeline/lifecycle.ts draftsOf); putting or deleting one queues the
 * rescans of the packages its vulnerabilities were found in, so findings change now, each image
 * with one message, not at the next advisory change.
 */

import { type StoredVex, VexTooLargeError, vexIdOf } from '../stores/vex-store.js';
import { parseVex } from '../vex/parse.js';
import { InvalidVexError } from '../vex/types.js';
import { decodeCursor, type Page, pageOf, queryFingerprint } from './cursor.js';
import type { ApiDeps } from './deps.js';
import { BadRequestError, ForbiddenError, NotFoundError } from './errors.js';
import { queueDecisionRescans } from './rescans.js';
import { type SuppressionScope, storedScope } from './suppressions.js';

export type VexScope = Exclude<SuppressionScope, { kind: 'digest' }>;

export interface VexView {
  readonly id: string;
  readonly scope: string;
  readonly documentId?: string;
  readonly format: string;
  readonly author?: string;
  readonly statements: number;
  readonly uploadedBy: string;
  readonly uploadedAt: string;
  readonly expiresAt?: string;
}

const view = (v: StoredVex): VexView => ({
  id: v.id,
  scope: v.scope,
  ...(v.documentId === undefined ? {} : { documentId: v.documentId }),
  format: v.format,
  ...(v.author === undefined ? {} : { author: v.author }),
  statements: v.statements.length,
  uploadedBy: v.uploadedBy,
  uploadedAt: v.uploadedAt,
  ...(v.expiresAt === undefined ? {} : { expiresAt: new Date(v.expiresAt * 1000).toISOString() }),
});

function vexOf(v: StoredVex) {
  const vulnerabilityIds = [
    ...new Set(v.statements.flatMap((s) => [s.vulnerability, ...s.aliases])),
  ];
  return { kind: 'vex' as const, scope: v.scope, vulnerabilityIds, packageKey: '*' };
}

/** Reads, stores (or replaces) a VEX document, and queues the rescans it asks for. */
export async function putVex(
  deps: ApiDeps,
  scope: VexScope,
  text: string,
  expires: string | undefined,
  principal: string | undefined,
): Promise<VexView & { readonly issues: readonly string[]; readonly rescans: number }> {
  if (principal === undefined || principal === '')
    throw new ForbiddenError(
      'the request carries no IAM principal (requestContext.identity.userArn)',
    );
  const now = (deps.now ?? (() => new Date()))();
  let expiresAt: number | undefined;
  if (expires !== undefined) {
    expiresAt = Math.floor(Date.parse(expires) / 1000);
    if (expiresAt <= now.getTime() / 1000)
      throw new BadRequestError([`query.expiresAt: ${expires} is not in the future`]);
  }
  let doc: ReturnType<typeof parseVex>;
  try {
    doc = parseVex(text);
  } catch (error) {
    if (error instanceof InvalidVexError)
      throw new BadRequestError(error.problems.map((p) => `body: ${p}`));
    throw error;
  }
  const stored: StoredVex = {
    scope: storedScope(scope),
    id: vexIdOf(doc, text),
    ...(doc.id === undefined ? {} : { documentId: doc.id }),
    format: doc.format,
    ...(doc.author === undefined ? {} : { author: doc.author }),
    statements: doc.statements,
    uploadedBy: principal,
    uploadedAt: now.toISOString(),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
  // A replaced document's statements stop applying: its findings are rescanned too.
  const before = await deps.vex.get(stored.scope, stored.id);
  try {
    await deps.vex.put(stored);
  } catch (error) {
    if (error instanceof VexTooLargeError) throw new BadRequestError([`body: ${error.message}`]);
    throw error;
  }
  const rescans = await queueDecisionRescans(deps, [
    vexOf(stored),
    ...(before === undefined ? [] : [vexOf(before)]),
  ]);
  return { ...view(stored), issues: doc.issues, rescans };
}

/** The unexpired documents of a scope, by id. */
export async function listVex(
  deps: ApiDeps,
  scope: VexScope,
  limit: number,
  cursor: string | undefined,
): Promise<Page<VexView>> {
  const stored = storedScope(scope);
  const q = queryFingerprint('vex', { scope: stored });
  const after = decodeCursor(cursor, q)?.[0];
  const all = (await deps.vex.documents(stored))
    .map(view)
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .filter((v) => after === undefined || v.id > after);
  return pageOf(all, limit, q, (v) => [v.id]);
}

/** Deletes a document and queues the rescans of what it covered. */
export async function deleteVex(deps: ApiDeps, scope: VexScope, id: string): Promise<number> {
  const stored = storedScope(scope);
  const existing = await deps.vex.get(stored, id);
  if (existing === undefined) throw new NotFoundError(`no VEX document ${id} in scope ${stored}`);
  await deps.vex.delete(stored, id);
  return queueDecisionRescans(deps, [vexOf(existing)]);
}
