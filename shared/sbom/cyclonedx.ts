/**
 * CycloneDX 1.6 JSON (https://cyclonedx.org/docs/1.6/json/) of an image's inventory, built with
 * @cyclonedx/cyclonedx-library: the image as the metadata component (a container), the OS as an
 * operating-system component, and one library component per package, with its PURL and, as
 * properties, where it was found and the layer that brought it. Given findings, it also carries
 * them as `vulnerabilities` (https://cyclonedx.org/docs/1.6/json/#vulnerabilities), each one's
 * `affects` pointing at the component of the package it was found in.
 */
// Entry points, not the package root: the root also loads the optional XML plugins.

import * as Enums from '@cyclonedx/cyclonedx-library/Enums';
import * as Models from '@cyclonedx/cyclonedx-library/Models';
import * as Serialize from '@cyclonedx/cyclonedx-library/Serialize';
import * as Spec from '@cyclonedx/cyclonedx-library/Spec';
import type { CheckIssue, CheckResult } from '../checks/types.js';
import type { Image } from '../image/types.js';
import type { Inventory } from '../inventory/inventory.js';
import type { Coverage } from '../matcher/coverage.js';
import type { Finding } from '../matcher/types.js';

export interface SbomTool {
  readonly name: string;
  readonly version: string;
}

const osvSource = (id: string) =>
  new Models.Vulnerability.Source({ name: 'OSV', url: `https://osv.dev/vulnerability/${id}` });

// Bosun's rating sources (shared/advisories/severity.ts) as CycloneDX rating methods.
function ratingMethod(
  source: string,
  vector: string | undefined,
): Enums.Vulnerability.RatingMethod {
  if (source === 'CVSS_V4') return Enums.Vulnerability.RatingMethod.CVSSv4;
  if (source === 'CVSS_V3')
    return vector?.startsWith('CVSS:3.1/')
      ? Enums.Vulnerability.RatingMethod.CVSSv31
      : Enums.Vulnerability.RatingMethod.CVSSv3;
  if (source === 'CVSS_V2') return Enums.Vulnerability.RatingMethod.CVSSv2;
  return Enums.Vulnerability.RatingMethod.Other;
}

function vulnerability(f: Finding, ref: Models.BomRef): Models.Vulnerability.Vulnerability {
  const v = new Models.Vulnerability.Vulnerability({
    bomRef: `vuln:${f.id}:${ref.value}`,
    id: f.id,
    source: osvSource(f.advisoryIds[0] ?? f.id),
    ...(f.summary === undefined ? {} : { description: f.summary }),
    ...(f.fixedVersion !== undefined
      ? { recommendation: `Upgrade ${f.package.name} to ${f.fixedVersion} or later.` }
      : f.fixState === 'will-not-fix'
        ? { recommendation: 'The publisher will not fix this vulnerability.' }
        : f.fixState === 'fix-deferred'
          ? { recommendation: 'The publisher has deferred the fix.' }
          : {}),
  });
  for (const other of f.ids)
    if (other !== f.id)
      v.references.add(new Models.Vulnerability.Reference(other, osvSource(other)));
  // The effective rating first, then every source's (CycloneDX `ratings[].source`).
  const same = (a: Finding['severity'], b: Finding['severity']) =>
    a.by === b.by && a.severity === b.severity && a.vector === b.vector;
  const ratings = [f.severity, ...f.severities.filter((r) => !same(r, f.severity))];
  for (const r of ratings)
    v.ratings.add(
      new Models.Vulnerability.Rating({
        severity: r.severity.toLowerCase() as Enums.Vulnerability.Severity,
        ...(r.score === undefined ? {} : { score: r.score }),
        ...(r.vector === undefined ? {} : { vector: r.vector }),
        method: ratingMethod(r.source, r.vector),
        ...(r.by !== 'none' ? { source: new Models.Vulnerability.Source({ name: r.by }) } : {}),
      }),
    );
  if (f.kev !== undefined) {
    v.properties.add(new Models.Property('bosun:kev', 'true'));
    v.properties.add(new Models.Property('bosun:kev:dateAdded', f.kev.dateAdded));
  }
  if (f.epss !== undefined) {
    v.properties.add(new Models.Property('bosun:epss:score', String(f.epss.score)));
    v.properties.add(new Models.Property('bosun:epss:percentile', String(f.epss.percentile)));
  }
  if (f.reachability !== undefined) {
    const r = f.reachability;
    v.properties.add(new Models.Property('bosun:reachability', String(r.reachable)));
    if (r.precision !== undefined)
      v.properties.add(new Models.Property('bosun:reachability:precision', r.precision));
    v.properties.add(new Models.Property('bosun:reachability:source', r.source));
    for (const symbol of r.symbols ?? [])
      v.properties.add(new Models.Property('bosun:reachability:symbol', symbol));
    // Only a definite "not linked" is VEX's not_affected / code_not_reachable: unknown says
    // nothing, and a reachable finding stays an ordinary one (no analysis claimed).
    // https://cyclonedx.org/docs/1.6/json/#vulnerabilities_items_analysis
    if (r.reachable === false)
      v.analysis = new Models.Vulnerability.Analysis({
        state: Enums.Vulnerability.AnalysisState.NotAffected,
        justification: Enums.Vulnerability.AnalysisJustification.CodeNotReachable,
        detail:
          r.reason ??
          `No vulnerable ${r.precision === 'package' ? 'package' : 'function'} is linked in the binary (${r.source}).`,
      });
  }
  v.affects.add(new Models.Vulnerability.Affect(ref));
  return v;
}

/** A provenance verdict as the SBOM states it. */
export interface SbomProvenance {
  readonly repository: string;
  readonly status: string;
  readonly mode: string;
  readonly policyVersion: string;
}

/** A finding a decision suppressed (docs/vex.md): why, and the VEX status when one decided. */
export interface SbomSuppressed {
  readonly finding: Finding;
  readonly reason: string;
  readonly vexStatus?: 'not_affected' | 'fixed';
}

/** The hardening checks of the image, and how a result's location is said (report/checks.ts). */
export interface SbomChecks {
  readonly results: readonly CheckResult[];
  readonly issues: readonly CheckIssue[];
  readonly where: (result: CheckResult) => string;
}

export function toCycloneDx(
  image: Image,
  inventory: Inventory,
  tool: SbomTool,
  now = new Date(),
  findings: readonly Finding[] = [],
  coverage?: Coverage,
  provenance: readonly SbomProvenance[] = [],
  checks?: SbomChecks,
  suppressed: readonly SbomSuppressed[] = [],
): string {
  const bom = new Models.Bom();
  bom.metadata.timestamp = now;
  // The hardening checks (issue 21) as metadata properties: one `bosun:check` per result (id,
  // severity, title, where), never a secret's value; what they could not read is said too.
  if (checks !== undefined) {
    for (const c of checks.results)
      bom.metadata.properties.add(
        new Models.Property('bosun:check', `${c.id} ${c.severity} ${c.title} @ ${checks.where(c)}`),
      );
    for (const issue of checks.issues)
      bom.metadata.properties.add(
        new Models.Property('bosun:check:issue', `${issue.location}: ${issue.message}`),
      );
  }
  // The provenance verdict per repository the image was checked for (issue 19): who built it
  // travels with what is in it.
  for (const p of provenance) {
    bom.metadata.properties.add(
      new Models.Property('bosun:provenance', `${p.repository} ${p.status} (${p.mode})`),
    );
    bom.metadata.properties.add(new Models.Property('bosun:provenance:policy', p.policyVersion));
  }
  // Findings are only as complete as the advisories asked: say so where they are listed.
  if (coverage !== undefined) {
    bom.metadata.properties.add(
      new Models.Property('bosun:coverage', coverage.complete ? 'complete' : 'incomplete'),
    );
    for (const gap of coverage.gaps)
      bom.metadata.properties.add(new Models.Property('bosun:coverage:gap', gap.message));
  }
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, tool.name, { version: tool.version }),
  );
  const container = new Models.Component(Enums.ComponentType.Container, image.source, {
    ...(image.manifestDigest === undefined ? {} : { version: image.manifestDigest }),
    bomRef: 'image',
  });
  bom.metadata.component = container;
  if (inventory.os !== undefined) {
    const os = new Models.Component(Enums.ComponentType.OperatingSystem, inventory.os.family, {
      ...(inventory.os.versionId === undefined ? {} : { version: inventory.os.versionId }),
      bomRef: `os:${inventory.os.family}`,
    });
    bom.components.add(os);
    container.dependencies.add(os.bomRef);
  }
  const refs = new Map<string, Models.BomRef>();
  for (const [i, p] of inventory.packages.entries()) {
    const component = new Models.Component(Enums.ComponentType.Library, p.name, {
      version: p.version,
      bomRef: `pkg:${i}:${p.purl}`,
      purl: p.purl,
    });
    for (const license of p.licenses ?? [])
      component.licenses.add(new Models.NamedLicense(license));
    component.properties.add(new Models.Property('bosun:location', p.location));
    if (p.layer !== undefined)
      component.properties.add(new Models.Property('bosun:layer', p.layer));
    if (p.sourceName !== undefined)
      component.properties.add(new Models.Property('bosun:source-package', p.sourceName));
    bom.components.add(component);
    container.dependencies.add(component.bomRef);
    refs.set(`${p.purl}\u0000${p.location}`, component.bomRef);
  }
  const refOf = (f: Finding) => {
    const ref = refs.get(`${f.package.purl}\u0000${f.package.location}`);
    if (ref === undefined)
      throw new Error(`finding ${f.id} names a package not in the inventory: ${f.package.purl}`);
    return ref;
  };
  for (const f of findings) bom.vulnerabilities.add(vulnerability(f, refOf(f)));
  // A suppressed finding is still a vulnerability of the image, with the decision as its
  // analysis: VEX's not_affected or resolved (fixed), or the project's own ignore entry.
  for (const { finding, reason, vexStatus } of suppressed) {
    const v = vulnerability(finding, refOf(finding));
    v.properties.add(new Models.Property('bosun:suppressed', reason));
    v.analysis = new Models.Vulnerability.Analysis({
      ...(vexStatus === 'not_affected'
        ? { state: Enums.Vulnerability.AnalysisState.NotAffected }
        : vexStatus === 'fixed'
          ? { state: Enums.Vulnerability.AnalysisState.Resolved }
          : {}),
      detail: reason,
    });
    bom.vulnerabilities.add(v);
  }
  const serializer = new Serialize.JsonSerializer(
    new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6),
  );
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}
