/**
 * The image commands: `inspect` reads an image from any source the scanner reads (registry,
 * archive, OCI layout, root filesystem) and prints what the walker sees; `sbom` prints its SBOM;
 * `scan` inventories it and matches it against the local advisory database (`bosun db`,
 * cli/db.ts) or advisory files given with --advisories. Loaded only when one of them runs.
 */
import { parseArgs } from 'node:util';
import { SEVERITIES } from '../shared/advisories/severity.js';
import { checksCollector } from '../shared/checks/collect.js';
import { applyChecksConfig, type ChecksConfig } from '../shared/checks/config.js';
import { layerFactsOf } from '../shared/checks/facts.js';
import { checkImage, type ImageChecks } from '../shared/checks/image.js';
import { openImageSource } from '../shared/image/open-source.js';
import { type Image, type ImageSet, platformString } from '../shared/image/types.js';
import {
  buildInventory,
  type Inventory,
  inventoryAndWalk,
  matchablePackages,
} from '../shared/inventory/inventory.js';
import {
  type RepositoryCpeLookup,
  resolveRedHatRepositories,
} from '../shared/inventory/redhat-repositories.js';
import { walkImage } from '../shared/inventory/walk.js';
import { readerId } from '../shared/layers/reader-id.js';
import { type Coverage, coverageOf } from '../shared/matcher/coverage.js';
import { matchPackages } from '../shared/matcher/match.js';
import { MemoryAdvisoryIndex } from '../shared/matcher/memory-index.js';
import { reachabilityCounts, reachabilityLabel } from '../shared/matcher/reachability.js';
import type { AdvisoryQuery, Finding } from '../shared/matcher/types.js';
import {
  checkLocation,
  checkSummary,
  failsCheckGate,
  parseCheckGate,
  sortChecks,
} from '../shared/report/checks.js';
import {
  type Gate,
  GateSyntaxError,
  gateReasons,
  gateSignalGaps,
  parseGate,
  summaryOf,
} from '../shared/report/gate.js';
import { toSarif } from '../shared/report/sarif.js';
import { EmbeddedAdvisoryStore } from '../shared/stores/embedded/advisory-store.js';
import { BOSUN_VERSION } from '../shared/version.js';
import { applyDecisions, loadDecisions, type SuppressedFinding } from './decisions.js';
import {
  checksRepositoriesOf,
  defaultDbDir,
  PROVENANCE_OPTIONS,
  prepare,
  readChecksConfig,
  SOURCE_OPTIONS,
  sourceInput,
  UsageError,
} from './options.js';
import { print, table } from './output.js';
import { registryClient } from './registry.js';
import type { ProvenanceReport } from './verify.js';

/**
 * Whether `--platform` asked for platforms the image does not have: then nothing is read, and
 * saying which platforms it has is the useful answer (exit 2), not an empty report.
 */
function noPlatform(set: ImageSet, wanted: readonly string[] | undefined, input: string): boolean {
  if (wanted === undefined || set.images.length > 0) return false;
  const has = set.skipped.flatMap((s) => s.platform ?? []);
  console.error(
    `bosun: ${input} has no image for ${wanted.join(', ')}${has.length === 0 ? '' : `; it has ${[...new Set(has)].join(', ')}`}`,
  );
  return true;
}

const TOOL = { name: 'bosun', version: BOSUN_VERSION };

const SBOM_FORMATS = ['cyclonedx', 'spdx', 'spdx-json', 'spdx3-json'];

function checkFormat(format: string, known: readonly string[]): void {
  if (!known.includes(format))
    throw new UsageError(`unknown format ${JSON.stringify(format)}; one of ${known.join(', ')}`);
}

/**
 * An SBOM of one image; CycloneDX also carries the findings, as vulnerabilities. Each writer is
 * loaded when its format is asked for: a scan printing a table parses none of them.
 */
async function sbomDocument(
  format: string,
  image: Image,
  inventory: Inventory,
  findings?: Finding[],
  coverage?: Coverage,
  provenance?: ProvenanceReport,
  checks?: ImageChecks,
  suppressed: readonly SuppressedFinding[] = [],
): Promise<string> {
  if (format === 'spdx')
    return (await import('../shared/sbom/spdx2-tag-value.js')).toSpdx23TagValue(
      image,
      inventory,
      TOOL,
    );
  if (format === 'spdx-json')
    return (await import('../shared/sbom/spdx2.js')).toSpdx23(image, inventory, TOOL);
  if (format === 'spdx3-json')
    return (await import('../shared/sbom/spdx.js')).toSpdx(image, inventory, TOOL);
  const { toCycloneDx } = await import('../shared/sbom/cyclonedx.js');
  return toCycloneDx(
    image,
    inventory,
    TOOL,
    new Date(),
    findings,
    coverage,
    provenance === undefined
      ? []
      : [
          {
            repository: provenance.repository,
            status: provenance.verdict.status,
            mode: provenance.verdict.mode,
            policyVersion: provenance.verdict.policyVersion,
          },
        ],
    checks === undefined ? undefined : { ...checks, where: checkLocation },
    suppressed,
  );
}

const OS_RELEASE = new Set(['etc/os-release', 'usr/lib/os-release']);

function osName(content: Buffer | undefined): string | undefined {
  return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(content?.toString('utf8') ?? '')?.[1];
}

export async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...SOURCE_OPTIONS, json: { type: 'boolean', default: false } },
  });
  const { input, cache } = prepare(values, positionals);
  const client = registryClient(input, values);
  const set = await openImageSource(input, client).images(
    values.platform === undefined ? {} : { platforms: values.platform },
  );
  if (noPlatform(set, values.platform, input)) return 2;
  const report = [];
  for (const image of set.images) {
    const walk = await walkImage(image, (e) => OS_RELEASE.has(e.path), {
      reader: readerId([{ id: 'cli/inspect', version: 1 }]),
      ...(cache === undefined ? {} : { cache }),
    });
    report.push({
      source: image.source,
      platform: platformString(image.platform),
      manifestDigest: image.manifestDigest,
      indexDigest: image.indexDigest,
      tags: image.tags,
      os: osName(walk.tree.read('etc/os-release') ?? walk.tree.read('usr/lib/os-release')),
      files: walk.tree.size,
      layers: walk.layers.map((l) => ({
        diffId: l.diffId,
        digest: l.digest,
        cached: l.fromCache,
        compression: l.result?.stats.compression,
        compressedBytes: l.result?.stats.compressedBytes,
        entries: l.result?.stats.entries,
        error: l.error?.message,
        issues: l.result?.issues.map((i) => i.message),
      })),
      treeIssues: walk.tree.issues.map((i) => i.message),
      complete: walk.complete,
    });
  }
  if (values.json) {
    print(JSON.stringify({ images: report, skipped: set.skipped }, null, 2));
  } else {
    for (const r of report) {
      print(
        `${r.source}  ${r.platform}${r.manifestDigest === undefined ? '' : `  ${r.manifestDigest}`}`,
      );
      print(
        `  os: ${r.os ?? 'unknown'}; ${r.files} files in ${r.layers.length} layers${r.complete ? '' : ' (INCOMPLETE)'}`,
      );
      for (const [i, l] of r.layers.entries()) {
        const size =
          l.compressedBytes === undefined
            ? ''
            : ` ${(l.compressedBytes / 1e6).toFixed(1)} MB ${l.compression}`;
        const cached = l.cached ? ' (from the layer cache)' : '';
        print(
          `  layer ${i}: ${l.diffId ?? l.digest ?? '(no digest)'}${size}${l.entries === undefined ? '' : `, ${l.entries} entries`}${cached}`,
        );
        if (l.error !== undefined) print(`    error: ${l.error}`);
        for (const issue of l.issues ?? []) print(`    issue: ${issue}`);
      }
      for (const issue of r.treeIssues) print(`  issue: ${issue}`);
    }
    for (const s of set.skipped) print(`skipped ${s.digest ?? ''} ${s.reason}`.replace('  ', ' '));
  }
  return report.every((r) => r.complete) ? 0 : 1;
}

/**
 * The summary line's reachability part: how many Go findings' code is not linked, and how many
 * of those `--reachable-only` left out (a filtered table must not read as "none unreachable").
 */
function reachabilityNote(findings: readonly Finding[], leftOut: number): string {
  const c = reachabilityCounts(findings);
  if (c.reachable + c.unreachable + c.unknown + leftOut === 0) return '';
  return `; reachable ${c.reachable}, not reachable ${c.unreachable}${leftOut === 0 ? '' : ` (${leftOut} more left out by --reachable-only)`}, unknown ${c.unknown} (Go symbols)`;
}

export async function scan(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...SOURCE_OPTIONS,
      advisories: { type: 'string' },
      db: { type: 'string' },
      format: { type: 'string', default: 'table' },
      severity: { type: 'string' },
      'ignore-unfixed': { type: 'boolean', default: false },
      // Leaves out findings whose vulnerable code is known not to be linked (docs/reachability.md).
      'reachable-only': { type: 'boolean', default: false },
      'fail-on': { type: 'string' },
      'fail-on-epss': { type: 'string' },
      // The hardening checks (shared/checks) run in the inventory's own walk: on by default.
      checks: { type: 'boolean' },
      'no-checks': { type: 'boolean', default: false },
      'fail-on-check': { type: 'string' },
      // Per-repository check settings and secret suppressions, as the deployment's imageChecks.
      'checks-config': { type: 'string' },
      // Decisions about findings (docs/vex.md): suppressed findings are listed apart, not dropped.
      vex: { type: 'string', multiple: true },
      'ignore-file': { type: 'string' },
      ...PROVENANCE_OPTIONS,
    },
  });
  let gate: Gate;
  let checkGate: ReturnType<typeof parseCheckGate>;
  try {
    gate = parseGate(values['fail-on'], values['fail-on-epss']);
    checkGate = parseCheckGate(values['fail-on-check']);
  } catch (error) {
    if (!(error instanceof GateSyntaxError)) throw error;
    throw new UsageError(error.message);
  }
  if (values.checks === true && values['no-checks'])
    throw new UsageError('--checks and --no-checks both given: give one');
  const runChecks = !values['no-checks'];
  if (!runChecks && checkGate !== undefined)
    throw new UsageError('--fail-on-check with --no-checks: no check would run to fail it');
  if (!runChecks && values['checks-config'] !== undefined)
    throw new UsageError('--checks-config with --no-checks: no check would run to configure');
  const checksConfig =
    values['checks-config'] === undefined ? undefined : readChecksConfig(values['checks-config']);
  const decisions = loadDecisions(
    values.vex ?? [],
    values['ignore-file'],
    new Date().toISOString().slice(0, 10),
  );
  for (const note of decisions.notes) console.error(`bosun: ${note}`);
  const wanted = values.severity?.toUpperCase().split(',');
  const bad = (wanted ?? []).find((s) => !(SEVERITIES as readonly string[]).includes(s));
  if (bad !== undefined)
    throw new UsageError(
      `unknown severity ${JSON.stringify(bad)}; one of ${SEVERITIES.join(', ')}`,
    );
  if (values.advisories !== undefined && values.db !== undefined)
    throw new UsageError('--advisories and --db both name where advisories come from: give one');
  checkFormat(values.format, ['table', 'json', 'sarif', ...SBOM_FORMATS]);
  // The provenance verdict (cli/verify.ts, loaded only when asked for): the policy, the trust
  // material and a registry source are checked before anything is read.
  const asksProvenance = (Object.keys(PROVENANCE_OPTIONS) as (keyof ProvenanceFlags)[]).some(
    (f) => values[f] !== undefined,
  );
  const provenance = asksProvenance ? await import('./verify.js') : undefined;
  const setup = provenance?.provenanceSetup(values, sourceInput(values, positionals));
  if (setup !== undefined && SBOM_FORMATS.includes(values.format) && values.format !== 'cyclonedx')
    throw new UsageError(
      `--policy with --format ${values.format}: only table, json, sarif and cyclonedx carry the provenance verdict`,
    );
  const { input, status, cache } = prepare(values, positionals);
  const query = await advisoryQuery(values.advisories, values.db);
  if (query === undefined) return 3;
  const { index, loaded, importIssues } = query;
  const signalGaps = await gateSignalGaps(gate, index);
  // An empty EXPLOIT column means "not listed" only when the KEV catalog was read.
  const kevChecked = await index.hasCveFacts('kev');
  const client = registryClient(input, values);
  const set = await openImageSource(input, client).images(
    values.platform === undefined ? {} : { platforms: values.platform },
  );
  if (noPlatform(set, values.platform, input)) return 2;
  const reports = [];
  let complete = true;
  for (const image of set.images) {
    status.update(`${image.source} ${platformString(image.platform)}: reading layers`);
    // One walk for the inventory and the checks: the checks collector reads each layer's
    // candidate files as the walk streams them, and the checks run on the walk's facts.
    const read = await inventoryAndWalk(image, {
      ...(cache === undefined ? {} : { cache }),
      ...(runChecks ? { collect: checksCollector() } : {}),
    });
    // A RHEL image's content sets name its repositories: their CPEs are its ecosystems.
    const inventory = await resolveRedHatRepositories(read.inventory, index);
    const checked = configuredChecks(
      runChecks ? checkImage(image, inventory, layerFactsOf(read.walk)) : undefined,
      checksConfig,
      sourceInput(values, positionals),
    );
    const checks =
      checked === undefined
        ? undefined
        : { results: sortChecks(checked.results), issues: checked.issues };
    complete &&= inventory.complete;
    status.update(`${image.source}: matching ${inventory.packages.length} packages`);
    const result = await matchPackages(matchablePackages(inventory), index);
    const imageCoverage = await coverageOf(inventory, index);
    const coverage: Coverage =
      signalGaps.length === 0
        ? imageCoverage
        : { complete: false, gaps: [...imageCoverage.gaps, ...signalGaps] };
    status.done();
    const { kept, suppressed } = applyDecisions(result.findings, decisions, {
      digests: [image.manifestDigest, image.indexDigest].filter(
        (d): d is string => d !== undefined,
      ),
      repositories: checksRepositoriesOf(sourceInput(values, positionals)),
    });
    const shown = kept
      .filter((f) => wanted === undefined || wanted.includes(f.severity.severity))
      .filter((f) => !values['ignore-unfixed'] || f.fixedVersion !== undefined);
    const findings = shown
      .filter((f) => !values['reachable-only'] || f.reachability?.reachable !== false)
      .sort(
        (a, b) =>
          SEVERITIES.indexOf(a.severity.severity) - SEVERITIES.indexOf(b.severity.severity) ||
          a.package.name.localeCompare(b.package.name) ||
          a.id.localeCompare(b.id),
      );
    reports.push({
      image,
      inventory,
      coverage,
      findings,
      unreachableLeftOut: shown.length - findings.length,
      suppressed,
      checks,
      issues: [...inventory.issues.map((i) => i.message), ...result.issues.map((i) => i.message)],
    });
  }
  let verdict: ProvenanceReport | undefined;
  if (provenance !== undefined && setup !== undefined) {
    // The digest the reference named: the index of a multi-platform tag (what cosign signs),
    // else the image's manifest; the registry is asked only when no image was read.
    const first = set.images[0];
    const digest =
      first?.indexDigest ?? first?.manifestDigest ?? (await client().resolve(setup.reference));
    status.update(`${input}: verifying provenance of ${digest}`);
    verdict = await provenance.checkProvenance(setup, client(), input, digest);
    status.done();
  }
  if (SBOM_FORMATS.includes(values.format)) {
    const only = reports[0];
    if (only === undefined || reports.length > 1) {
      console.error(`bosun: ${reports.length} images in ${input}; choose one with --platform`);
      await query.close();
      return 2;
    }
    print(
      await sbomDocument(
        values.format,
        only.image,
        only.inventory,
        only.findings,
        only.coverage,
        verdict,
        only.checks,
        only.suppressed,
      ),
    );
  } else if (values.format === 'sarif') {
    const sarif = toSarif(
      reports.map((r) => ({
        source: r.image.source,
        platform: platformString(r.image.platform),
        findings: r.findings,
        suppressed: r.suppressed,
        coverage: r.coverage,
        ...(r.checks === undefined
          ? {}
          : { checks: r.checks.results, checkIssues: r.checks.issues }),
      })),
      TOOL,
    );
    print(JSON.stringify(verdict === undefined ? sarif : withProvenance(sarif, verdict), null, 2));
  } else if (values.format === 'json') {
    print(
      JSON.stringify(
        {
          advisories: { loaded, issues: importIssues },
          images: reports.map((r) => ({
            source: r.image.source,
            platform: platformString(r.image.platform),
            manifestDigest: r.image.manifestDigest,
            os: r.inventory.os,
            packages: r.inventory.packages.length,
            coverage: r.coverage,
            summary: {
              ...summaryOf(r.findings),
              kevChecked,
              reachability: reachabilityCounts(r.findings),
              // Not reachable, and left out of `findings` by --reachable-only.
              ...(r.unreachableLeftOut === 0 ? {} : { unreachableLeftOut: r.unreachableLeftOut }),
            },
            findings: r.findings.map(findingJson),
            // Findings a VEX statement or an ignore entry covers: said, with why (docs/vex.md).
            suppressed: r.suppressed.map(({ finding, reason }) => ({
              ...findingJson(finding),
              reason,
            })),
            // The CheckResult list as the library gives it: a secret by its rule, location
            // and value hash, never its value.
            ...(r.checks === undefined
              ? {}
              : { checks: r.checks.results, checkIssues: r.checks.issues }),
            issues: r.issues,
          })),
          skipped: set.skipped,
          // What the decisions could not apply: expired ignore entries, VEX parts left out.
          ...(decisions.notes.length === 0 ? {} : { decisionNotes: decisions.notes }),
          ...(verdict === undefined ? {} : { provenance: verdict }),
        },
        null,
        2,
      ),
    );
  } else {
    print(
      `${loaded} advisories loaded${importIssues === 0 ? '' : ` (import notes: ${importIssues})`}`,
    );
    for (const r of reports) {
      print(
        `\n${r.image.source} ${platformString(r.image.platform)} — ${r.inventory.os?.prettyName ?? 'unknown OS'}, ${r.inventory.packages.length} packages, ${r.findings.length} findings${r.coverage.complete ? '' : ' (INCOMPLETE: coverage gaps below)'}`,
      );
      for (const gap of r.coverage.gaps) print(`  COVERAGE GAP: ${gap.message}`);
      const s = summaryOf(r.findings);
      if (s.total > 0)
        print(
          `  ${SEVERITIES.filter((x) => s.bySeverity[x] > 0)
            .map((x) => `${x} ${s.bySeverity[x]}`)
            .join(
              ', ',
            )}${s.kev === 0 ? '' : `; ${s.kev} known exploited (CISA KEV)`}${reachabilityNote(r.findings, r.unreachableLeftOut)}${s.unrated === 0 ? '' : `; ${s.unrated} rated by no source (UNKNOWN)`}${kevChecked ? '' : '; exploitation not checked: no KEV catalog in the database (bosun db sync --from kev)'}`,
        );
      if (r.findings.length > 0) {
        const rows = r.findings.map((f) => [
          f.severity.severity,
          f.id,
          f.package.name,
          f.installedVersion,
          f.fixedVersion === undefined
            ? `(${f.fixState ?? 'none'})`
            : `${f.fixedVersion}${f.fixVia === undefined ? '' : ` (${f.fixVia})`}`,
          [
            ...(f.kev === undefined ? [] : ['KEV']),
            ...(f.epss === undefined ? [] : [`EPSS ${(f.epss.score * 100).toFixed(1)}%`]),
          ].join(' '),
          reachabilityLabel(f.reachability),
        ]);
        const header = [
          'SEVERITY',
          'VULNERABILITY',
          'PACKAGE',
          'INSTALLED',
          'FIXED IN',
          'EXPLOIT',
          'REACHABLE',
        ];
        table(header, rows);
      }
      // Suppressed is not gone: each with why (a VEX statement, an ignore entry).
      if (r.suppressed.length > 0) {
        print(`  suppressed: ${r.suppressed.length} (VEX, ignore file)`);
        for (const { finding: f, reason } of r.suppressed)
          print(`  SUPPRESSED  ${f.id}  ${f.package.name} ${f.installedVersion}  ${reason}`);
      }
      if (r.checks !== undefined) printChecks(r.checks);
      for (const issue of r.issues) print(`  issue: ${issue}`);
    }
    if (verdict !== undefined && provenance !== undefined) {
      print('');
      for (const line of provenance.provenanceLines(verdict)) print(line);
    }
  }
  const failing = reports.some(
    (r) =>
      r.findings.some((f) => gateReasons(f, gate).length > 0) ||
      (r.checks?.results ?? []).some((c) => failsCheckGate(c, checkGate)),
  );
  // A gate on checks that could not read everything (a layer's secret budget spent) has not
  // said all it should: incomplete (exit 4) when nothing else fails, as a coverage gap is.
  const checksIncomplete =
    checkGate !== undefined && reports.some((r) => (r.checks?.issues.length ?? 0) > 0);
  await query.close();
  // A verdict fails the scan as a finding over --fail-on does when its rule is enforced; under
  // an audit rule, a signature found and not read leaves the results incomplete (exit 4).
  const refused =
    verdict !== undefined && verdict.outcome !== 'pass' && verdict.verdict.mode === 'enforce';
  if (failing || !complete || refused) return 1;
  return reports.every((r) => r.coverage.complete) &&
    verdict?.outcome !== 'undecided' &&
    !checksIncomplete
    ? 0
    : 4;
}

/** A finding as the JSON report writes it. */
function findingJson(f: Finding) {
  return {
    id: f.id,
    ids: f.ids,
    severity: f.severity,
    package: f.package.name,
    purl: f.package.purl,
    installedVersion: f.installedVersion,
    fixedVersion: f.fixedVersion,
    fixVia: f.fixVia,
    fixState: f.fixState,
    severities: f.severities,
    kev: f.kev,
    epss: f.epss,
    reachability: f.reachability,
    layer: f.package.layer,
  };
}

/**
 * The checks as the configuration makes them (shared/checks/config.ts): disabled ones left out,
 * severities changed, suppressed secrets left out, so every output and --fail-on-check agree.
 */
function configuredChecks(
  checks: ImageChecks | undefined,
  config: ChecksConfig | undefined,
  input: string,
): ImageChecks | undefined {
  if (checks === undefined || config === undefined) return checks;
  const configured = applyChecksConfig(
    config,
    checks.results,
    checksRepositoriesOf(input),
    new Date(),
  );
  return {
    results: configured.filter((c) => c.suppressed === undefined).map((c) => c.result),
    issues: checks.issues,
  };
}

/** The table's checks section: one row per result (id, severity, title, location). */
function printChecks(checks: ImageChecks): void {
  const s = checkSummary(checks.results);
  print(
    `  checks: ${
      s.total === 0
        ? 'none found'
        : Object.entries(s.bySeverity)
            .filter(([, n]) => n > 0)
            .map(([severity, n]) => `${severity} ${n}`)
            .join(', ')
    }`,
  );
  if (checks.results.length > 0) {
    const rows = checks.results.map((c) => [c.severity, c.id, c.title, checkLocation(c)]);
    const header = ['SEVERITY', 'CHECK', 'TITLE', 'LOCATION'];
    table(header, rows);
  }
  for (const issue of checks.issues) print(`  check issue: ${issue.location}: ${issue.message}`);
}

type ProvenanceFlags = typeof PROVENANCE_OPTIONS;

/** A SARIF log with the provenance verdict as a run property and, unless VERIFIED, a notification. */
function withProvenance(sarif: ReturnType<typeof toSarif>, report: ProvenanceReport) {
  const v = report.verdict;
  return {
    ...sarif,
    runs: sarif.runs.map((run) => ({
      ...run,
      invocations: run.invocations.map((inv) => ({
        ...inv,
        toolExecutionNotifications: [
          ...inv.toolExecutionNotifications,
          ...(report.outcome === 'pass'
            ? []
            : [
                {
                  level: report.outcome === 'audit' ? 'warning' : 'error',
                  descriptor: { id: `provenance/${v.status}` },
                  message: {
                    text: `${report.repository}@${report.digest}: provenance ${v.status} (rule ${v.rule}, mode ${v.mode})${v.reasons.length === 0 ? '' : `: ${v.reasons.join('; ')}`}`,
                  },
                },
              ]),
        ],
      })),
      properties: {
        ...run.properties,
        provenance: {
          image: report.image,
          repository: report.repository,
          digest: report.digest,
          status: v.status,
          mode: v.mode,
          outcome: report.outcome,
          rule: v.rule,
          policyVersion: v.policyVersion,
          trustVersion: report.trustVersion,
          reasons: v.reasons,
        },
      },
    })),
  };
}

interface Advisories {
  readonly index: AdvisoryQuery & RepositoryCpeLookup;
  readonly loaded: number;
  readonly importIssues: number;
  close(): Promise<void>;
}

/** Advisories from files (--advisories) or from the local database; undefined if it is empty. */
async function advisoryQuery(
  files: string | undefined,
  dbDir: string | undefined,
): Promise<Advisories | undefined> {
  if (files !== undefined) {
    // The importers of every format (XML, YAML, CSAF…) load only when files are given.
    const { loadAdvisories } = await import('../shared/advisories/load.js');
    const advisories = loadAdvisories(files);
    const index = new MemoryAdvisoryIndex();
    for (const r of advisories.records) index.add(r);
    if (advisories.repositoryCpes !== undefined) index.setRepositoryCpes(advisories.repositoryCpes);
    for (const f of advisories.facts) index.addCveFact(f);
    return {
      index,
      loaded: advisories.records.length,
      importIssues: advisories.issues.length,
      close: async () => {},
    };
  }
  const dir = dbDir ?? defaultDbDir();
  const store = EmbeddedAdvisoryStore.open(dir, 'read');
  const { advisories } = await store.stats();
  if (advisories === 0) {
    await store.close();
    console.error(
      `bosun: the advisory database in ${dir} is empty; run \`bosun db sync\` (or pass --advisories <dir>)`,
    );
    return undefined;
  }
  return { index: store, loaded: advisories, importIssues: 0, close: () => store.close() };
}

export async function sbom(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...SOURCE_OPTIONS, format: { type: 'string', default: 'cyclonedx' } },
  });
  checkFormat(values.format, SBOM_FORMATS);
  const { input, status, cache } = prepare(values, positionals);
  const set = await openImageSource(input, registryClient(input, values)).images(
    values.platform === undefined ? {} : { platforms: values.platform },
  );
  if (noPlatform(set, values.platform, input)) return 2;
  const image = set.images[0];
  if (image === undefined || set.images.length > 1) {
    console.error(`bosun: ${set.images.length} images in ${input}; choose one with --platform`);
    return 2;
  }
  status.update(`${image.source} ${platformString(image.platform)}: reading layers`);
  const inventory = await buildInventory(image, cache === undefined ? {} : { cache });
  status.done();
  print(await sbomDocument(values.format, image, inventory));
  return inventory.complete ? 0 : 1;
}
