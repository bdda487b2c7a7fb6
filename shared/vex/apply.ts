/**
 * Which VEX statement speaks for a finding of an image. A statement applies when it names one
 * of the finding's ids (or an alias of it does) and one of its products is either
 * - the image itself (an OCI purl whose version is the digest, `pkg:oci/<name>@sha256:…`, with
 *   or without a `repository_url`; the digest as an `@id`; or its sha-256 hash), for all the
 *   image's packages or, when it lists subcomponents, for the packages they name; or
 * - the package directly (its purl).
 * A statement's purl without a version covers every version; its qualifiers must all match
 * (`arch`, `distro`). When several apply, the latest by timestamp wins (the spec's ordering of
 * statements in time), document order breaking ties.
 */
import { parsePurl } from '../advisories/purl.js';
import type { VexProduct, VexStatement } from './types.js';

export interface VexSubject {
  /** `sha256:<hex>`. */
  readonly digest: string;
  /** Repository names the digest is pushed to (without the registry host). */
  readonly repositories: readonly string[];
}

export interface VexTarget {
  readonly vulnerabilityId: string;
  readonly ids: readonly string[];
  /** The finding's package purl; without one only image-wide statements can apply. */
  readonly purl?: string | undefined;
}

/** Whether a statement's purl names the package purl (name, version when given, qualifiers). */
export function purlCovers(statementPurl: string, packagePurl: string): boolean {
  const a = parsePurl(statementPurl);
  const b = parsePurl(packagePurl);
  if (a === undefined || b === undefined) return false;
  if (a.type !== b.type) return false;
  if (a.namespace.toLowerCase() !== b.namespace.toLowerCase()) return false;
  if (a.name.toLowerCase() !== b.name.toLowerCase()) return false;
  if (a.version !== undefined && a.version !== b.version) return false;
  for (const [key, value] of a.qualifiers) {
    // repository_url says where an artifact was published, not what it is.
    if (key === 'repository_url') continue;
    if (b.qualifiers.get(key) !== value) return false;
  }
  return true;
}

/** Whether a product identifier names this image. */
function namesImage(id: string, subject: VexSubject): boolean {
  if (id === subject.digest) return true;
  const p = parsePurl(id);
  if (p === undefined || p.type !== 'oci') return false;
  if (p.version !== undefined) return p.version === subject.digest;
  // An unversioned OCI purl names a repository: its name is the repository's last segment,
  // and a `repository_url` qualifier, when given, must end with the repository.
  const url = p.qualifiers.get('repository_url');
  return subject.repositories.some(
    (r) =>
      r.split('/').pop()?.toLowerCase() === p.name.toLowerCase() &&
      (url === undefined || url.toLowerCase().endsWith(r.toLowerCase())),
  );
}

function productCovers(product: VexProduct, target: VexTarget, subject: VexSubject): boolean {
  const hex = subject.digest.replace(/^sha256:/, '');
  const image = product.sha256.includes(hex) || product.ids.some((id) => namesImage(id, subject));
  if (image) {
    if (product.subcomponents.length === 0) return true;
    const purl = target.purl;
    return purl !== undefined && product.subcomponents.some((s) => purlCovers(s, purl));
  }
  const purl = target.purl;
  return purl !== undefined && product.ids.some((id) => purlCovers(id, purl));
}

/** The statement that speaks for a finding of an image, if any. */
export function vexStatementFor(
  statements: readonly VexStatement[],
  target: VexTarget,
  subject: VexSubject,
): VexStatement | undefined {
  const names = new Set([target.vulnerabilityId, ...target.ids]);
  let best: VexStatement | undefined;
  let bestAt = Number.NEGATIVE_INFINITY;
  for (const s of statements) {
    if (!names.has(s.vulnerability) && !s.aliases.some((a) => names.has(a))) continue;
    if (!s.products.some((p) => productCovers(p, target, subject))) continue;
    const at = Date.parse(s.timestamp);
    if (at >= bestAt) {
      best = s;
      bestAt = at;
    }
  }
  return best;
}

/** Whether a statement closes the finding for the user: the image is not affected, or fixed. */
export function vexSuppresses(s: VexStatement): boolean {
  return s.status === 'not_affected' || s.status === 'fixed';
}

/** The finding's reason when a statement suppresses it: status, justification, document. */
export function vexReason(s: VexStatement): string {
  const why = s.justification ?? s.impact;
  return `vex: ${s.status}${why === undefined ? '' : ` (${why})`}${s.document === undefined ? '' : ` in ${s.document}`}`;
}
