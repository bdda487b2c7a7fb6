/**
 * Validation of what a caller sends: path parameters, query parameters and bodies (zod). Every
 * failure is a BadRequestError naming each bad field; nothing unvalidated reaches a store key.
 */
import * as z from 'zod';
import { SEVERITIES } from '../advisories/severity.js';
import { describeIssues } from '../zod-issues.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from './cursor.js';
import { BadRequestError } from './errors.js';

// One path component of a repository name, as the OCI distribution spec's grammar has it
// (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests):
// no empty, `.` or `..` component can pass, so a decoded name cannot walk to another one.
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const HOST =
  '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?';

/** `<registry host>/<repository>`, as the images table keys it (docs/data-model.md). */
export const repositoryParam = z
  .string()
  .max(512)
  .regex(
    new RegExp(`^${HOST}/${COMPONENT}(?:/${COMPONENT})*$`),
    'a <registry host>/<repository> name',
  );
export const digestParam = z
  .string()
  .regex(/^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/, 'a sha256: or sha512: image digest');
export const tagParam = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, 'a tag (the distribution spec grammar)');
/** CVE-…, GHSA-…, DSA-…, ALAS2023-…, RHSA-2024:1234, GO-…: letters, digits and `.-_:`. */
export const vulnerabilityIdParam = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'a vulnerability id');
/** `<ecosystem>#<package name>` as findings name packages, or `*` for any package. */
export const packageKeyParam = z
  .string()
  .min(1)
  .max(512)
  .regex(/^(\*|[^#\s]+#[^\s]+)$/u, 'a package key <ecosystem>#<name>, or *');

/**
 * API Gateway REST APIs hand path parameters to the function as the client sent them,
 * percent-encoding included (a repository is one segment, `/` sent as `%2F`); a value already
 * decoded has no `%` left to decode. Decoded once: a `%` that remains fails validation.
 */
export function decodePathParam(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw new BadRequestError([`path: ${JSON.stringify(value)} is not percent-encoded UTF-8`]);
  }
}

export function parseWith<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what: string,
): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new BadRequestError(describeIssues(result.error).map((p) => `${what}.${p}`));
  return result.data;
}

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const list = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((v) => v.split(','))
    .pipe(z.array(z.enum(values)).min(1));

export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
  cursor: z.string().max(4096).optional(),
});

export const findingsQuery = pageQuery.extend({
  severity: list(SEVERITIES).optional(),
  status: list(['ACTIVE', 'SUPPRESSED', 'CLOSED'] as const).optional(),
  fixAvailable: bool.optional(),
  kev: bool.optional(),
});
export type FindingsFilters = Omit<z.output<typeof findingsQuery>, 'limit' | 'cursor'>;

export const suppressionBody = z.strictObject({
  vulnerabilityId: vulnerabilityIdParam,
  packageKey: packageKeyParam.default('*'),
  reason: z.string().trim().min(1).max(1000),
  /** An ISO 8601 instant in the future; absent: until deleted. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

export const deleteSuppressionQuery = z.strictObject({
  packageKey: packageKeyParam.default('*'),
});

/** A VEX document's id in the store (stores/vex-store.ts vexIdOf). */
export const vexIdParam = z.string().regex(/^[0-9a-f]{24}$/, 'a VEX document id (24 hex digits)');

export const vexPutQuery = z.strictObject({
  /** An ISO 8601 instant in the future; absent: until deleted. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
