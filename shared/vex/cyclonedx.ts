/**
 * CycloneDX VEX (https://cyclonedx.org/capabilities/vex/; the `vulnerabilities` of a BOM,
 * spec 1.4 to 1.6): each vulnerability with an `analysis` is a statement about the components
 * its `affects[].ref` names. A ref is a `bom-ref` of this document's components, or a BOM-Link
 * (`urn:cdx:<serial>/<version>#<bom-ref>`) into another BOM, such as the SBOM Bosun wrote, whose
 * bom-refs end with the package's purl.
 */
import * as z from 'zod';
import { describeIssues } from '../zod-issues.js';
import {
  InvalidVexError,
  type VexDocument,
  type VexProduct,
  type VexStatement,
  type VexStatus,
} from './types.js';

/**
 * `analysis.state` onto VEX's statuses, as CycloneDX's VEX guide maps them: a false positive is
 * not affected; resolved (with or without pedigree) is fixed; exploitable is affected.
 */
const STATES: Readonly<Record<string, VexStatus>> = {
  not_affected: 'not_affected',
  false_positive: 'not_affected',
  resolved: 'fixed',
  resolved_with_pedigree: 'fixed',
  exploitable: 'affected',
  in_triage: 'under_investigation',
};

interface CdxComponent {
  readonly 'bom-ref'?: string | undefined;
  readonly purl?: string | undefined;
  readonly components?: readonly CdxComponent[] | undefined;
}
const cdxComponent: z.ZodType<CdxComponent> = z.lazy(() =>
  z.object({
    'bom-ref': z.string().optional(),
    purl: z.string().optional(),
    components: z.array(cdxComponent).optional(),
  }),
);
const vulnerability = z.object({
  id: z.string().min(1),
  references: z.array(z.object({ id: z.string().min(1) })).optional(),
  analysis: z
    .object({
      state: z.enum(Object.keys(STATES) as [string, ...string[]]).optional(),
      justification: z.string().optional(),
      response: z.array(z.string()).optional(),
      detail: z.string().optional(),
      firstIssued: z.iso.datetime({ offset: true }).optional(),
      lastUpdated: z.iso.datetime({ offset: true }).optional(),
    })
    .optional(),
  affects: z
    .array(
      z.object({
        ref: z.string().min(1),
        versions: z
          .array(
            z.object({
              version: z.string().optional(),
              range: z.string().optional(),
              status: z.enum(['affected', 'unaffected', 'unknown']).optional(),
            }),
          )
          .optional(),
      }),
    )
    .optional(),
  published: z.iso.datetime({ offset: true }).optional(),
  updated: z.iso.datetime({ offset: true }).optional(),
});
const documentSchema = z.object({
  bomFormat: z.literal('CycloneDX'),
  specVersion: z.enum(['1.4', '1.5', '1.6', '1.7']),
  serialNumber: z.string().optional(),
  metadata: z
    .object({ timestamp: z.iso.datetime({ offset: true }).optional(), component: cdxComponent })
    .partial()
    .optional(),
  components: z.array(cdxComponent).optional(),
  vulnerabilities: z.array(vulnerability).optional(),
});

/** The bom-refs of a document's components (nested too) and the purls they stand for. */
function purlsByRef(doc: z.infer<typeof documentSchema>): Map<string, string> {
  const refs = new Map<string, string>();
  const visit = (c: CdxComponent): void => {
    if (c['bom-ref'] !== undefined && c.purl !== undefined) refs.set(c['bom-ref'], c.purl);
    for (const child of c.components ?? []) visit(child);
  };
  if (doc.metadata?.component !== undefined) visit(doc.metadata.component);
  for (const c of doc.components ?? []) visit(c);
  return refs;
}

/**
 * What a ref names: the purl of a component of this document, else the purl a BOM-Link's
 * fragment (or the ref itself) ends with — Bosun's SBOM writes bom-refs as `pkg:<n>:<purl>`.
 */
function resolveRef(ref: string, refs: ReadonlyMap<string, string>): string | undefined {
  const own = refs.get(ref);
  if (own !== undefined) return own;
  const hash = ref.indexOf('#');
  let fragment = ref;
  if (ref.startsWith('urn:cdx:') && hash >= 0) {
    try {
      fragment = decodeURIComponent(ref.slice(hash + 1));
    } catch {
      return undefined;
    }
  }
  const at = fragment.search(/pkg:[a-z][a-z0-9.+-]*\/(?!.*pkg:[a-z][a-z0-9.+-]*\/)/i);
  return at < 0 ? undefined : fragment.slice(at);
}

/** The purl with its version replaced: `pkg:npm/a@1.0.0` + `2.0.0` → `pkg:npm/a@2.0.0`. */
function withVersion(purl: string, version: string): string {
  const q = purl.search(/[?#]/);
  const base = q < 0 ? purl : purl.slice(0, q);
  const rest = q < 0 ? '' : purl.slice(q);
  const at = base.lastIndexOf('@');
  const name = at > base.lastIndexOf('/') ? base.slice(0, at) : base;
  return `${name}@${encodeURIComponent(version)}${rest}`;
}

/**
 * The products one `affects` entry names. Listed exact versions narrow it to those versions
 * (for affected and unknown statuses as listed; `unaffected` versions are what a not_affected
 * or fixed statement is about). A version range (`vers:`) is not evaluated here: such an entry
 * is left out and said, so a statement never covers more than it names.
 */
function productsOf(
  affects: NonNullable<z.infer<typeof vulnerability>['affects']>[number],
  refs: ReadonlyMap<string, string>,
  issues: string[],
): VexProduct[] {
  const purl = resolveRef(affects.ref, refs);
  if (purl === undefined) {
    issues.push(`ref ${affects.ref} names no component with a purl`);
    return [];
  }
  const versions = affects.versions ?? [];
  if (versions.length === 0) return [{ ids: [purl], sha256: [], subcomponents: [] }];
  if (versions.some((v) => v.version === undefined)) {
    issues.push(`ref ${affects.ref}: version ranges are not evaluated; entry left out`);
    return [];
  }
  return versions.map((v) => ({
    ids: [withVersion(purl, v.version as string)],
    sha256: [],
    subcomponents: [],
  }));
}

/** Reads a CycloneDX VEX document (already JSON-parsed); throws InvalidVexError when it is not one. */
export function parseCycloneDxVex(json: unknown): VexDocument & { readonly issues: string[] } {
  const parsed = documentSchema.safeParse(json);
  if (!parsed.success) throw new InvalidVexError(describeIssues(parsed.error));
  const doc = parsed.data;
  const refs = purlsByRef(doc);
  const issues: string[] = [];
  const statements: VexStatement[] = [];
  for (const v of doc.vulnerabilities ?? []) {
    // A vulnerability without an analysis is a finding, not a statement about one.
    const state = v.analysis?.state;
    if (state === undefined) continue;
    const products = (v.affects ?? []).flatMap((a) => productsOf(a, refs, issues));
    if (products.length === 0) {
      issues.push(`${v.id}: the statement names no product it can be applied to`);
      continue;
    }
    const analysis = v.analysis ?? {};
    const timestamp =
      analysis.lastUpdated ??
      analysis.firstIssued ??
      v.updated ??
      v.published ??
      doc.metadata?.timestamp;
    statements.push({
      vulnerability: v.id,
      aliases: (v.references ?? []).map((r) => r.id),
      products,
      status: STATES[state] as VexStatus,
      ...(analysis.justification === undefined
        ? state === 'false_positive'
          ? { justification: 'false_positive' }
          : {}
        : { justification: analysis.justification }),
      ...(analysis.detail === undefined ? {} : { impact: analysis.detail }),
      ...(analysis.response === undefined ? {} : { action: analysis.response.join(', ') }),
      // Undated statements order before every dated one: a later dated statement overrides them.
      timestamp: timestamp ?? new Date(0).toISOString(),
      ...(doc.serialNumber === undefined ? {} : { document: doc.serialNumber }),
    });
  }
  if (statements.length === 0 && issues.length > 0) throw new InvalidVexError(issues);
  return {
    format: 'cyclonedx',
    ...(doc.serialNumber === undefined ? {} : { id: doc.serialNumber }),
    statements,
    issues,
  };
}
