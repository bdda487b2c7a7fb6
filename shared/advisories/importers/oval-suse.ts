/**
 * SUSE's CVE OVAL (https://www.suse.com/support/security/oval/, files per product line such as
 * `suse.linux.enterprise.server.15.xml.gz`, `opensuse.leap.15.5.xml.gz`; CC-BY-4.0). One
 * definition per CVE: the title is the CVE, `<advisory>` has `<severity>` (Low, Moderate,
 * Important, Critical), `<issued>`, `<updated>` and `<cve cvss3="score/vector">`. Its criteria
 * pair products (`SUSE Linux Enterprise Server 15 SP1 is installed`: a `*-release` package at
 * that version) with packages below their fixed `evr`, or with `pkg is not affected` (a test of
 * version 0, which never holds).
 *
 * A product is osv.dev's SUSE ecosystem, its name without the leading `SUSE `
 * (`SUSE:Linux Enterprise Server 15 SP1`), or `openSUSE:<rest>` (`openSUSE:Leap 15.5`,
 * `openSUSE:Tumbleweed`). One record per CVE and product, `SUSE-OVAL-<product>-<CVE>` with the
 * product's words joined by `-` (`SUSE-OVAL-Linux-Enterprise-Server-15-SP1-CVE-2021-29154`),
 * the CVE in `aliases`: SUSE's files overlap (a module's product is in several product lines), so
 * a record per product is the same whichever file it is read from, and a product the CVE does not
 * affect is a record without affected packages that replaces an earlier one.
 */
import type { OsvEvent, OsvRecord } from '../osv.js';
import {
  affectedEntry,
  attr,
  byString,
  type Criterion,
  definitionContent,
  evaluate,
  instant,
  list,
  type OvalContext,
  rpminfoPackage,
  type Term,
  text,
  unionOf,
} from './oval-document.js';

export const SUSE_NAMESPACE = 'oval:org.opensuse.security:';

const CVE = /CVE-\d{4}-\d+/;
const MAX_DETAILS_CHARS = 4_000;

/** `SUSE Linux Enterprise Server 15 SP1` → `SUSE:Linux Enterprise Server 15 SP1`. */
export function suseEcosystem(product: string): string | undefined {
  const m = /^(SUSE|openSUSE) (.+)$/.exec(product.trim());
  return m === null ? undefined : `${m[1]}:${m[2]}`;
}

function classify(c: Criterion): Term {
  if (c.test === undefined) {
    // Products and "not affected" read as their comments say; a package needs its test (the
    // comment `kernel-default-4.12.14-150.72.1 is installed` has no epoch).
    if (/^\S+ is not affected$/.test(c.comment ?? '')) return { kind: 'false' };
    const product = /^((?:SUSE|openSUSE) .+) is installed$/.exec(c.comment ?? '')?.[1];
    if (product !== undefined) return { kind: 'platform', platform: product };
    return {
      kind: 'unknown',
      why: `test ${JSON.stringify(c.testRef)} that the document does not hold`,
    };
  }
  const pkg = rpminfoPackage(c);
  if (pkg !== undefined) return pkg;
  const version = c.states.map((s) => s.entities.get('version')).find((v) => v !== undefined);
  if (c.test.kind === 'rpminfo_test' && c.object?.name !== undefined) {
    // No state: the package installed at any version.
    if (c.states.length === 0 && c.missingStates.length === 0)
      return { kind: 'package', name: c.object.name };
    if (version?.operation === 'equals' && version.value === '0') return { kind: 'false' };
    const product = /^(.+) is installed$/.exec(c.comment ?? '')?.[1];
    if (version?.operation === 'equals' && product !== undefined)
      return { kind: 'platform', platform: product };
  }
  return {
    kind: 'unknown',
    why: `${c.test.kind} ${JSON.stringify(c.testRef)} (${JSON.stringify(c.comment ?? '')})`,
  };
}

export function suseRecords(ctx: OvalContext): OsvRecord[] {
  const records: OsvRecord[] = [];
  const unknownProducts = new Set<string>();
  for (const def of ctx.doc.definitions) {
    const content = definitionContent(def, ctx);
    if (content === undefined) continue;
    const { metadata, criteria } = content;
    const title = text(metadata.title) ?? '';
    const cve =
      CVE.exec(title)?.[0] ??
      list(metadata.reference)
        .map((r) => CVE.exec(attr(r, 'ref_id') ?? '')?.[0])
        .find((c) => c !== undefined);
    if (cve === undefined) {
      // Patch definitions (SUSE-SU-…) are SUSE's other OVAL files; osv.dev has those advisories.
      ctx.issue(def.id, `names no CVE (title ${JSON.stringify(title)}); skipped`);
      continue;
    }
    const advisory = (list(metadata.advisory)[0] ?? {}) as Record<string, unknown>;
    const issued = instant(attr(advisory.issued, 'date'));
    const modified = instant(attr(advisory.updated, 'date')) ?? issued ?? ctx.timestamp;
    if (modified === undefined) {
      ctx.issue(
        cve,
        'has no issued or updated date and the document no generator timestamp; skipped',
      );
      continue;
    }
    const { affects, platforms } = evaluate(
      criteria,
      classify,
      ctx.doc,
      (m) => ctx.issue(cve, m),
      ctx.maxClauses,
    );
    if (affects.some((a) => a.platforms === undefined))
      ctx.issue(cve, 'has criteria that name no product; those packages are left out');
    const vector = list(advisory.cve)
      .map((c) => /^[\d.]+\/(CVSS:3\.[01]\/.+)$/.exec(attr(c, 'cvss3') ?? '')?.[1])
      .find((v) => v !== undefined);
    const severity = text(advisory.severity);
    const description = text(metadata.description);
    const url = attr(
      list(metadata.reference).find((r) => attr(r, 'source') === 'SUSE CVE'),
      'ref_url',
    );
    for (const product of [...platforms].sort(byString)) {
      const ecosystem = suseEcosystem(product);
      if (ecosystem === undefined) {
        unknownProducts.add(product);
        continue;
      }
      const ranges = new Map<string, OsvEvent[][]>();
      for (const a of affects)
        if (a.platforms?.has(product) === true)
          ranges.set(a.name, [...(ranges.get(a.name) ?? []), [...a.events]]);
      const namespace = ecosystem.startsWith('openSUSE:') ? 'opensuse' : 'suse';
      records.push({
        id: `SUSE-OVAL-${ecosystem.replace(/^SUSE:/, '').replace(/[^A-Za-z0-9.]+/g, '-')}-${cve}`,
        modified,
        ...(issued === undefined ? {} : { published: issued }),
        aliases: [cve],
        ...(description === undefined ? {} : { details: description.slice(0, MAX_DETAILS_CHARS) }),
        ...(vector === undefined ? {} : { severity: [{ type: 'CVSS_V3', score: vector }] }),
        affected: [...ranges.entries()]
          .sort(([a], [b]) => byString(a, b))
          .map(([name, r]) => affectedEntry(ecosystem, namespace, name, unionOf(r))),
        ...(severity === undefined ? {} : { database_specific: { severity } }),
        ...(url === undefined ? {} : { references: [{ type: 'ADVISORY', url }] }),
      });
    }
  }
  for (const product of [...unknownProducts].sort(byString))
    ctx.fileIssue(
      `product ${JSON.stringify(product)} is neither SUSE's nor openSUSE's; its packages are left out`,
    );
  return records;
}
