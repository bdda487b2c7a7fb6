/**
 * Opaque, validated pagination cursors. A cursor is the sort key of the last item a page
 * returned (keyset pagination: items written between two pages neither shift nor repeat the
 * others) and a fingerprint of the route and filters it was made for, base64url-encoded JSON
 * with a checksum. A cursor that does not decode, was altered, or belongs to another query is a
 * 400. It is not signed: it only says where to resume a query the caller's IAM permission
 * already allows, and every route re-applies its own scope (repository, digest) to it.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { BadRequestError } from './errors.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 500;

const payload = z.strictObject({
  v: z.literal(1),
  q: z.string().length(16),
  k: z.array(z.string().max(2048)).min(1).max(4),
});

const digestOf = (text: string, length: number) =>
  createHash('sha256').update(text).digest('base64url').slice(0, length);

/** What a cursor is bound to: the route and its filters, in a canonical order. */
export function queryFingerprint(route: string, filters: Readonly<Record<string, unknown>>) {
  const canonical = Object.keys(filters)
    .sort()
    .map((k) => [k, filters[k]]);
  return digestOf(JSON.stringify([route, canonical]), 16);
}

export function encodeCursor(fingerprint: string, key: readonly string[]): string {
  const body = Buffer.from(JSON.stringify({ v: 1, q: fingerprint, k: key })).toString('base64url');
  return `${body}.${digestOf(body, 8)}`;
}

/** The key a cursor resumes after; undefined for the first page. */
export function decodeCursor(
  cursor: string | undefined,
  fingerprint: string,
): readonly string[] | undefined {
  if (cursor === undefined) return undefined;
  const [body, check, extra] = cursor.split('.');
  if (
    body === undefined ||
    check === undefined ||
    extra !== undefined ||
    digestOf(body, 8) !== check
  )
    throw new BadRequestError(['cursor: not a cursor this API issued']);
  let parsed: z.infer<typeof payload>;
  try {
    parsed = payload.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
  } catch {
    throw new BadRequestError(['cursor: not a cursor this API issued']);
  }
  if (parsed.q !== fingerprint)
    throw new BadRequestError(['cursor: made for another route or other filters']);
  return parsed.k;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Present when more items follow: pass it as `cursor` for the next page. */
  readonly nextCursor?: string;
}

/**
 * A page of `limit` items from `items` (already in key order, all after the cursor), with the
 * next cursor when more remain.
 */
export function pageOf<T>(
  items: readonly T[],
  limit: number,
  fingerprint: string,
  keyOf: (item: T) => readonly string[],
): Page<T> {
  if (items.length <= limit) return { items };
  const shown = items.slice(0, limit);
  const last = shown[shown.length - 1] as T;
  return { items: shown, nextCursor: encodeCursor(fingerprint, keyOf(last)) };
}
