/**
 * Oracle's ELSA OVAL (https://linux.oracle.com/security/oval/: `com.oracle.elsa-ol<N>.xml.bz2`
 * per release, `com.oracle.elsa-all.xml.bz2`, and per-advisory `ELSA-YYYY-NNNN.xml`). One
 * definition per ELSA: its id (`<reference source="elsa">`), `<advisory><severity>` (LOW,
 * MODERATE, IMPORTANT, CRITICAL), `<issued date>`, the CVEs (`<cve>`, with a `cvss3`
 * `score/vector` attribute on newer ones), and criteria of the form
 * `Oracle Linux 8 is installed AND (arch is aarch64 AND (pkg earlier than E:V-R AND pkg signed
 * with the Oracle Linux 8 key) OR …) OR (arch is x86_64 AND …)`.
 *
 * One record per ELSA, its own id; one affected entry per package and release
 * (`Oracle Linux:<major>`, Bosun's name: osv.dev has no Oracle Linux). Criteria are per arch;
 * the entry keeps one fixed version per package and release, the highest when arches disagree
 * (an issue then names them). The signature-key criteria hold for the distribution's own
 * packages, which are the ones Bosun reads. Tests, objects and states are read when the document
 * holds them; trimmed copies of Oracle's files (vunnel's and vuln-list-update's fixtures) keep
 * only the criteria, whose comments Oracle generates in fixed forms and other readers rely on
 * (vunnel's oracle provider reads nothing else): those are read from the comments, and one issue
 * per definition says so.
 */
import { rpm } from '../../versions/rpm.js';
import type { OsvEvent, OsvRecord } from '../osv.js';
import {
  type Affect,
  affectedEntry,
  attr,
  byString,
  type Criterion,
  compareUpper,
  definitionContent,
  evaluate,
  instant,
  list,
  type OvalContext,
  rpminfoPackage,
  rpmVersion,
  type Term,
  text,
  unionOf,
} from './oval-document.js';

export const ORACLE_NAMESPACE = 'oval:com.oracle.elsa:';

// `ELSA-2018-1196-1`: a second advisory for the same errata.
const ELSA = /^ELSA-\d{4}-\d+(?:-\d+)?$/;
const MAX_DETAILS_CHARS = 4_000;

/**
 * Ksplice userspace packages (`2:1.1.1g-15.ksplice1.el8_3`) patch a running process; their
 * criteria (`openssl is ksplice-based`: a release matching `ksplice`) hold only where such a
 * package is installed. Bosun would compare a plain `openssl` against that version and report
 * a fix the host does not need (vunnel's KspliceFilterer drops them for the same reason).
 */
const isKsplice = (evr: string) => /ksplice/.test(evr.slice(evr.lastIndexOf('-') + 1));

/** What one criterion says, from its test when the document holds it, else from its comment. */
function classify(c: Criterion, dangling: string[]): Term {
  const module = /^Module (\S+) is enabled$/.exec(c.comment ?? '');
  if (module !== null) return { kind: 'module', module: module[1] as string };
  // A test the document does not hold, or whose object or state it does not hold.
  if (
    c.test === undefined ||
    (c.test.objectRef !== undefined && c.object === undefined) ||
    c.missingStates.length > 0
  ) {
    dangling.push(c.testRef);
    return fromComment(c.comment ?? '', c.testRef);
  }
  const pkg = rpminfoPackage(c);
  if (pkg !== undefined)
    return pkg.kind === 'package' && isKsplice(pkg.evr ?? '') ? { kind: 'ksplice' } : pkg;
  const entities = new Map(c.states.flatMap((s) => [...s.entities]));
  if (c.test.kind === 'rpminfo_test' && entities.size === 1) {
    const [[name, { value, operation }]] = [...entities] as [
      [string, { value: string; operation: string }],
    ];
    if (name === 'signature_keyid') return { kind: 'true' };
    const major = /^\^(\d+)$/.exec(value);
    if (name === 'version' && operation === 'pattern match' && major !== null)
      return { kind: 'platform', platform: major[1] as string };
    if (name === 'arch' && operation === 'pattern match') return { kind: 'arch', arch: value };
    if (name === 'release' && operation === 'pattern match' && /ksplice/.test(value))
      return { kind: 'ksplice' };
  }
  return {
    kind: 'unknown',
    why: `${c.test.kind} ${JSON.stringify(c.testRef)} checking ${JSON.stringify([...entities.keys()])}`,
  };
}

/** Oracle's generated criterion comments (the forms vunnel's and trivy's readers match). */
function fromComment(comment: string, testRef: string): Term {
  const installed = /^Oracle Linux (\d+) is installed$/.exec(comment);
  if (installed !== null) return { kind: 'platform', platform: installed[1] as string };
  const arch = /^Oracle Linux arch is (\S+)$/.exec(comment);
  if (arch !== null) return { kind: 'arch', arch: arch[1] as string };
  if (/^\S+ is signed with the Oracle Linux \d+ key$/.test(comment)) return { kind: 'true' };
  if (/^\S+ is ksplice-based$/.test(comment)) return { kind: 'ksplice' };
  const earlier = /^(\S+) is earlier than (\S+)$/.exec(comment);
  if (earlier !== null) {
    const evr = rpmVersion(earlier[2] as string);
    if (!rpm.valid(evr)) return { kind: 'unknown', why: `evr ${JSON.stringify(earlier[2])}` };
    return isKsplice(evr)
      ? { kind: 'ksplice' }
      : { kind: 'package', name: earlier[1] as string, op: 'lt', evr };
  }
  return {
    kind: 'unknown',
    why: `test ${JSON.stringify(testRef)} that the document does not hold, commented ${JSON.stringify(comment)}`,
  };
}

/** The ELSA id: its `elsa` reference; the title's id must agree. */
function elsaId(
  metadata: Record<string, unknown>,
  defId: string,
  ctx: OvalContext,
): string | undefined {
  const ref = attr(
    list(metadata.reference).find((r) => attr(r, 'source') === 'elsa'),
    'ref_id',
  );
  const title = text(metadata.title) ?? '';
  const titled = /^(ELSA-\d{4}[-:]\d+(?:-\d+)?):/.exec(title)?.[1];
  const id = ref ?? titled;
  if (id === undefined || !ELSA.test(id)) {
    ctx.issue(
      defId,
      `names no ELSA id (reference ${JSON.stringify(ref ?? '')}, title ${JSON.stringify(title)}); skipped`,
    );
    return undefined;
  }
  if (titled !== undefined && titled !== id)
    ctx.issue(
      id,
      `title names ${JSON.stringify(titled)}, its reference ${JSON.stringify(id)}; the reference's id is kept`,
    );
  return id;
}

export function oracleRecords(ctx: OvalContext): OsvRecord[] {
  const records: OsvRecord[] = [];
  for (const def of ctx.doc.definitions) {
    const content = definitionContent(def, ctx);
    if (content === undefined) continue;
    const { metadata, criteria } = content;
    const id = elsaId(metadata, def.id, ctx);
    if (id === undefined) continue;
    const advisory = (list(metadata.advisory)[0] ?? {}) as Record<string, unknown>;
    const issued = instant(attr(advisory.issued, 'date'));
    const modified = instant(attr(advisory.updated, 'date')) ?? issued ?? ctx.timestamp;
    if (modified === undefined) {
      ctx.issue(id, 'has no issued date and the document no generator timestamp; skipped');
      continue;
    }
    const dangling: string[] = [];
    const { affects, partial } = evaluate(
      criteria,
      (c) => classify(c, dangling),
      ctx.doc,
      (m) => ctx.issue(id, m),
      ctx.maxClauses,
    );
    if (dangling.length > 0)
      ctx.issue(
        id,
        `${new Set(dangling).size} criteria name tests the document does not hold (${JSON.stringify(dangling[0])}, …); read from their comments`,
      );
    // A record without packages says "not affected": never for criteria Bosun cannot read.
    if (partial && affects.length === 0) {
      ctx.issue(id, 'no criterion could be evaluated; no record');
      continue;
    }
    const affected = list(metadata.affected)[0];
    const metaPlatforms = (Array.isArray(affected?.platform) ? affected.platform : []).flatMap(
      (p: unknown) => /^Oracle Linux (\d+)$/.exec(text(p) ?? '')?.[1] ?? [],
    );
    const cves = [
      ...list(advisory.cve).flatMap((c) => text(c) ?? []),
      ...list(metadata.reference).flatMap((r) =>
        attr(r, 'source') === 'CVE' ? (attr(r, 'ref_id') ?? []) : [],
      ),
    ];
    const upstream = [...new Set(cves)].sort(byString);
    // A CVSS vector is the vulnerability's: only an ELSA of one CVE can carry it as its own.
    const vector =
      upstream.length === 1
        ? /^[\d.]+\/(CVSS:3\.[01]\/.+)$/.exec(attr(list(advisory.cve)[0], 'cvss3') ?? '')?.[1]
        : undefined;
    const severity = text(advisory.severity);
    const description = text(metadata.description);
    const url = attr(
      list(metadata.reference).find((r) => attr(r, 'source') === 'elsa'),
      'ref_url',
    );
    records.push({
      id,
      modified,
      ...(issued === undefined ? {} : { published: issued }),
      ...(text(metadata.title) === undefined ? {} : { summary: text(metadata.title) as string }),
      ...(description === undefined ? {} : { details: description.slice(0, MAX_DETAILS_CHARS) }),
      ...(upstream.length === 0 ? {} : { upstream }),
      ...(vector === undefined ? {} : { severity: [{ type: 'CVSS_V3', score: vector }] }),
      affected: collapse(id, affects, metaPlatforms, ctx),
      ...(severity === undefined ? {} : { database_specific: { severity } }),
      ...(url === undefined ? {} : { references: [{ type: 'ADVISORY', url }] }),
    });
  }
  return records;
}

/**
 * One entry per release and package: per arch the union of the ELSA's fixes (two rebuilds of
 * one package on one arch: the later), then across arches the highest, with an issue when they
 * differ (an arch respun at another revision).
 */
function collapse(
  id: string,
  affects: readonly Affect[],
  metaPlatforms: readonly string[],
  ctx: OvalContext,
) {
  const byPackage = new Map<string, { arches: Map<string, OsvEvent[][]>; modules: string[] }>();
  let unplaced = false;
  for (const a of affects) {
    // Criteria without `Oracle Linux N is installed` are for the one release the ELSA names.
    const releases =
      a.platforms ?? (metaPlatforms.length === 1 ? new Set(metaPlatforms) : undefined);
    if (releases === undefined) {
      unplaced = true;
      continue;
    }
    for (const release of releases) {
      const key = `${release}\u0000${a.name}`;
      const entry = byPackage.get(key) ?? {
        arches: new Map<string, OsvEvent[][]>(),
        modules: [] as string[],
      };
      byPackage.set(key, entry);
      for (const arch of a.arches ?? ['any'])
        entry.arches.set(arch, [...(entry.arches.get(arch) ?? []), [...a.events]]);
      entry.modules.push(...a.modules);
    }
  }
  if (unplaced)
    ctx.issue(
      id,
      `criteria name no Oracle Linux release and the ELSA names ${metaPlatforms.length} platforms; those packages are left out`,
    );
  return [...byPackage.entries()]
    .sort(([a], [b]) => byString(a, b))
    .map(([key, { arches, modules }]) => {
      const [release, name] = key.split('\u0000') as [string, string];
      const perArch = [...arches.entries()].map(
        ([arch, ranges]) => [arch, unionOf(ranges)] as const,
      );
      const widest = perArch.reduce((w, p) =>
        compareUpper(p[1][0] ?? [], w[1][0] ?? []) > 0 ? p : w,
      );
      const differ = perArch.filter(([, r]) => JSON.stringify(r) !== JSON.stringify(widest[1]));
      if (differ.length > 0)
        ctx.issue(
          id,
          `${name} on Oracle Linux ${release} is fixed at different versions per arch (${perArch
            .map(([arch, r]) => `${arch}: ${JSON.stringify(r[0]?.at(-1) ?? {})}`)
            .join(', ')}); the highest is kept`,
        );
      return affectedEntry(`Oracle Linux:${release}`, 'oracle', name, widest[1], { modules });
    });
}
