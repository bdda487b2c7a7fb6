/**
 * OpenVEX 0.2 documents (https://github.com/openvex/spec/blob/main/OPENVEX-SPEC.md): statements
 * with a vulnerability, products (with subcomponents) and a status. A statement's timestamp and
 * products may be inherited from the document ("Inheritance Flow"); a statement left without
 * products, or a `not_affected` one with neither justification nor impact statement, is
 * incomplete and the spec calls the document invalid, so it is refused whole rather than half-read.
 */
import * as z from 'zod';
import { describeIssues } from '../zod-issues.js';
import {
  InvalidVexError,
  VEX_STATUSES,
  type VexDocument,
  type VexProduct,
  type VexStatement,
} from './types.js';

/** The justification labels of the VEX working group's "Status Justifications" (July 2022). */
export const OPENVEX_JUSTIFICATIONS = [
  'component_not_present',
  'vulnerable_code_not_present',
  'vulnerable_code_not_in_execute_path',
  'vulnerable_code_cannot_be_controlled_by_adversary',
  'inline_mitigations_already_exist',
] as const;

const component = z.object({
  '@id': z.string().min(1).optional(),
  identifiers: z.record(z.string(), z.string()).optional(),
  hashes: z.record(z.string(), z.string()).optional(),
});
const product = component.extend({ subcomponents: z.array(component).optional() });
const statement = z.object({
  vulnerability: z.object({
    '@id': z.string().optional(),
    name: z.string().min(1),
    aliases: z.array(z.string()).optional(),
  }),
  products: z.array(product).optional(),
  status: z.enum(VEX_STATUSES),
  justification: z.enum(OPENVEX_JUSTIFICATIONS).optional(),
  impact_statement: z.string().optional(),
  action_statement: z.string().optional(),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  last_updated: z.iso.datetime({ offset: true }).optional(),
});
const documentSchema = z.object({
  '@context': z.string().regex(/^https:\/\/openvex\.dev\/ns\/v0\.2\.\d+$/),
  '@id': z.string().min(1),
  author: z.string().min(1),
  timestamp: z.iso.datetime({ offset: true }),
  version: z.number().int().nonnegative(),
  statements: z.array(statement),
});

type Component = z.infer<typeof component>;

/** A component's identifiers: its `@id` and every value of `identifiers` (purl, cpe23, cpe22). */
function idsOf(c: Component): string[] {
  return [...(c['@id'] === undefined ? [] : [c['@id']]), ...Object.values(c.identifiers ?? {})];
}

/** Its sha-256 hash (IANA's textual name `sha-256`), lower-case hex. */
function sha256Of(c: Component): string[] {
  const hash = c.hashes?.['sha-256'];
  return hash === undefined ? [] : [hash.toLowerCase()];
}

function productOf(p: z.infer<typeof product>): VexProduct {
  return {
    ids: idsOf(p),
    sha256: sha256Of(p),
    subcomponents: (p.subcomponents ?? []).flatMap(idsOf),
  };
}

/** Reads an OpenVEX document (already JSON-parsed); throws InvalidVexError when it is not one. */
export function parseOpenVex(json: unknown): VexDocument {
  const parsed = documentSchema.safeParse(json);
  if (!parsed.success) throw new InvalidVexError(describeIssues(parsed.error));
  const doc = parsed.data;
  const problems: string[] = [];
  const statements = doc.statements.map((s, i): VexStatement => {
    const products = (s.products ?? []).map(productOf);
    if (products.length === 0 || products.some((p) => p.ids.length + p.sha256.length === 0))
      problems.push(`statements.${i}: a statement must identify its products`);
    if (
      s.status === 'not_affected' &&
      s.justification === undefined &&
      s.impact_statement === undefined
    )
      problems.push(`statements.${i}: not_affected needs a justification or an impact_statement`);
    return {
      vulnerability: s.vulnerability.name,
      aliases: s.vulnerability.aliases ?? [],
      products,
      status: s.status,
      ...(s.justification === undefined ? {} : { justification: s.justification }),
      ...(s.impact_statement === undefined ? {} : { impact: s.impact_statement }),
      ...(s.action_statement === undefined ? {} : { action: s.action_statement }),
      // The statement's own time, else the document's ("Timestamps" under Inheritance Flow).
      timestamp: s.timestamp ?? doc.timestamp,
      document: doc['@id'],
    };
  });
  if (problems.length > 0) throw new InvalidVexError(problems);
  return { format: 'openvex', id: doc['@id'], author: doc.author, statements };
}
