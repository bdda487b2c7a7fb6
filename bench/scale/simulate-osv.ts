/**
 * `npm run bench:scale:generate [-- --records N]`: a SIMULATED OSV export at the size of the
 * real one (issue 18, item 2), for benchmarks only. The real records under
 * ../shared/data/advisories (every format, through loadAdvisories) are multiplied: each copy of
 * a record gets a new id and consistently rewritten aliases, some copies rename their packages,
 * and versions are shifted where the scheme keeps its order. Nothing here is a real advisory:
 * every id starts with `SIM-`, every record says so in `database_specific.simulated`, and the
 * output folder holds a SIMULATED.md saying the same.
 *
 * Layout, as osv.dev serves it (https://google.github.io/osv.dev/data/): `<out>/<ecosystem>/`
 * holds `<id>.json` per record (indented, as osv.dev writes them) and `modified_id.csv` (newest
 * first). `bosun db sync --from <out>` reads that tree offline through LocalFeedSource. The
 * OSV bucket source cannot read a local folder (it speaks HTTP only), so the choice was between
 * LocalFeedSource's two inputs, files or a zip per ecosystem: reading 50,000 simulated records
 * through it took 11.2-11.7 s as files and 49-64 s as `all.zip` files (yauzl opens a stream
 * and an inflater per entry, several thread-pool round trips each; docs/benchmarks.md).
 * `--layout zip` writes `<ecosystem>/all.zip` instead, osv.dev's first-sync file, for the
 * bucket source pointed at a loopback server.
 *
 * Memory: only the real records are held (as JSON text); generated records are written as they
 * are made, and the CSV is computed from the plan at the end, not collected.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DATA_DIR } from '../../scripts/demo-data.js';
import { isAdvisoryFileName, loadAdvisories } from '../../shared/advisories/load.js';
import { type OsvAffected, type OsvRecord, parseOsv } from '../../shared/advisories/osv.js';
import { baseEcosystem, schemeFor } from '../../shared/ecosystems.js';
import type { VersionScheme } from '../../shared/versions/index.js';
import { ZipWriter } from './zip-writer.js';

export const SIMULATED_LABEL = 'simulated: multiplied from the real records, for benchmarks only';
/** The folder of records that name no package (withdrawn ones, "not affected" ones). */
export const NO_ECOSYSTEM = 'no-ecosystem';
/** The marker that makes an output folder ours to replace. */
const MARKER = 'SIMULATED.md';
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_OUT = path.join(PROJECT_ROOT, '.local', 'bench', 'scale', 'osv');
export const DEFAULT_SOURCE = path.join(DATA_DIR, 'advisories');

/**
 * Share of copies whose package names get a per-copy suffix. Many of the real export's records
 * name packages no other record names (malicious-package reports, one package each, and the
 * long tail of GHSA and distribution packages), so its package keys grow with its records. With 3 of 4 copies renamed, 500,000 records from our ~21,600 name about 300,000
 * package keys ("several hundred thousand"), while the unrenamed copies keep the real names
 * that real images hold, several advisories deep, as popular packages are.
 */
export const DEFAULT_RENAMED_SHARE = 0.75;

/** Real CVE numbers stay below this (the largest in our data is 1,999,023): copies add n × it. */
const CVE_COPY_STRIDE = 100_000_000;
const CVE = /^CVE-(\d{4})-(\d{4,})$/;
/** The ids OSV's modified_id.csv can list (and a file can be named after): the bucket source's. */
const OSV_ID = /^[A-Za-z0-9._:-]+$/;
/** A version whose second numeric component can grow: `1.2.3`, `1:2.30-1`, `5.14.0-611.el9`. */
const SHIFTABLE = /^(\d+:)?(\d+)\.(0|[1-9]\d{0,14})(?!\d)(.*)$/s;

export type Layout = 'zip' | 'files';

export interface SimulateOptions {
  /** Where the export is written; replaced if it holds an earlier simulation, else refused. */
  readonly out: string;
  /** Exactly this many records are written. */
  readonly records: number;
  /** The real records (loadRealRecords), read from folders or files of any advisory format. */
  readonly real: RealRecords;
  /** `files` (the default: what LocalFeedSource reads fastest) or `zip`. */
  readonly layout?: Layout;
  readonly renamedShare?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/** What the alias index would hold: CVE keys, how many records name each, and sharing. */
export interface AliasStats {
  readonly cveKeys: number;
  /** Records naming a CVE, per CVE key (aliases, upstream or related). */
  readonly refsPerKey: number;
  /** Share of CVE keys that records of more than one database name. */
  readonly sharedKeyShare: number;
}

export interface SimulateReport {
  readonly label: typeof SIMULATED_LABEL;
  readonly out: string;
  readonly layout: Layout;
  readonly records: number;
  /** Distinct real records the copies were made from, and the ids seen more than once. */
  readonly realRecords: number;
  readonly realDuplicateIds: number;
  readonly realBadIds: number;
  readonly copies: number;
  /** The records' JSON as written (uncompressed), and the files on disk. */
  readonly jsonBytes: number;
  readonly diskBytes: number;
  /** Records per output folder (base ecosystem). */
  readonly ecosystems: Record<string, number>;
  readonly packageKeys: number;
  readonly realPackageKeys: number;
  readonly realAliases: AliasStats;
  readonly aliases: AliasStats;
  /** Affected entries whose versions were shifted, and those left as they were. */
  readonly shiftedAffected: number;
  readonly unshiftedAffected: number;
  /** Loading the real records, then generating. */
  readonly loadSeconds: number;
  readonly seconds: number;
  /** The process's peak resident memory so far (loading included). */
  readonly peakRssMb: number;
}

export interface RealRecord {
  readonly id: string;
  readonly folder: string;
  /** The record's `modified` as RFC 3339 UTC, for modified_id.csv. */
  readonly modified: string;
  readonly modifiedMs: number;
  readonly json: string;
}

/** The database an id comes from: its prefix (`GHSA`, `PYSEC`, `ALSA`, `GO`…). */
const databaseOf = (id: string): string => id.split('-', 1)[0] ?? id;

/** The output folder of a record: its first package's base ecosystem, as osv.dev files it. */
export function folderOf(record: OsvRecord): string {
  const eco = record.affected?.find((a) => a.package !== undefined)?.package?.ecosystem;
  return eco === undefined ? NO_ECOSYSTEM : baseEcosystem(eco);
}

/** RFC 3339 UTC as OSV's CSV has it; records with an unreadable date sort oldest. */
function csvDate(record: OsvRecord): { text: string; ms: number } {
  const ms = Date.parse(record.modified);
  if (Number.isNaN(ms)) return { text: '1970-01-01T00:00:00Z', ms: 0 };
  return { text: new Date(ms).toISOString().replace('.000Z', 'Z'), ms };
}

/** FNV-1a, for the per-copy choices: the same input always chooses the same. */
function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 2 ** 32;
}

/**
 * Counts CVE keys, references and keys named by more than one database. Each key keeps the
 * code of the one database seen naming it, or -1 once a second one does.
 */
class AliasCounter {
  private readonly keys = new Map<string, number>();
  private refs = 0;
  private readonly databases = new Map<string, number>();

  add(database: string, ids: Iterable<string>): void {
    let code = this.databases.get(database);
    if (code === undefined) {
      code = this.databases.size;
      this.databases.set(database, code);
    }
    for (const id of ids) {
      if (!CVE.test(id)) continue;
      this.refs++;
      const seen = this.keys.get(id);
      if (seen === undefined) this.keys.set(id, code);
      else if (seen !== code && seen !== -1) this.keys.set(id, -1);
    }
  }

  stats(): AliasStats {
    let shared = 0;
    for (const code of this.keys.values()) if (code === -1) shared++;
    const n = this.keys.size;
    return {
      cveKeys: n,
      refsPerKey: n === 0 ? 0 : this.refs / n,
      sharedKeyShare: n === 0 ? 0 : shared / n,
    };
  }
}

/** Every id a record names, once each: the alias index's input. */
function namedIds(r: OsvRecord): Set<string> {
  return new Set([...(r.aliases ?? []), ...(r.upstream ?? []), ...(r.related ?? [])]);
}

/** The real records a simulation multiplies, and what the real data's indexes hold. */
export interface RealRecords {
  readonly records: readonly RealRecord[];
  /** Records dropped because their id was seen before. */
  readonly duplicates: number;
  /** Records dropped because their id is none OSV could list (`(AFS/RX)`, `fixed,`). */
  readonly badIds: number;
  readonly packageKeys: number;
  readonly aliases: AliasStats;
  readonly seconds: number;
}

/**
 * Loads the real records folder by folder (loading the whole tree at once peaks near 500 MB:
 * every folder's parse garbage is still there when the big OVAL and VEX files are read), keeps
 * each as JSON text (half the memory of the objects, and a fresh copy for every JSON.parse),
 * and drops ids seen before: one id is one record in a store.
 */
export function loadRealRecords(
  sources: readonly string[],
  log: (line: string) => void = () => {},
): RealRecords {
  const inputs = sources.flatMap((s) =>
    statSync(s).isDirectory()
      ? readdirSync(s)
          .sort()
          .filter((n) => !n.startsWith('.'))
          .map((n) => path.join(s, n))
          .filter((p) => statSync(p).isDirectory() || isAdvisoryFileName(p))
      : [s],
  );
  const started = performance.now();
  const seen = new Set<string>();
  const records: RealRecord[] = [];
  const keys = new Set<string>();
  const aliases = new AliasCounter();
  let duplicates = 0;
  let badIds = 0;
  for (const input of inputs) {
    for (const r of loadAdvisories(input).records) {
      // Alpine's legacy secdb has free text where CVE ids belong, which the importer keeps as
      // ids: such a record can be neither a file nor a line of modified_id.csv.
      if (!OSV_ID.test(r.id)) {
        badIds++;
        continue;
      }
      if (seen.has(r.id)) {
        duplicates++;
        continue;
      }
      seen.add(r.id);
      for (const a of r.affected ?? [])
        if (a.package !== undefined) keys.add(`${a.package.ecosystem}#${a.package.name}`);
      aliases.add(databaseOf(r.id), namedIds(r));
      const date = csvDate(r);
      records.push({
        id: r.id,
        folder: folderOf(r),
        modified: date.text,
        modifiedMs: date.ms,
        json: JSON.stringify(r),
      });
    }
    log(
      `loaded ${path.basename(input)}: ${records.length} real records so far, RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`,
    );
  }
  return {
    records,
    duplicates,
    badIds,
    packageKeys: keys.size,
    aliases: aliases.stats(),
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * The order copies take the real records in: sorted by folder, then stepped through by a
 * golden-ratio stride coprime to their count (a Kronecker sequence). Every prefix of it, so
 * also the last, partial copy and a small run, holds each ecosystem in its real proportion
 * (within a few records per folder), and a full copy holds every record once.
 */
function stratifiedOrder(records: readonly RealRecord[]): number[] {
  const byFolder = records
    .map((r, i) => ({ folder: r.folder, i }))
    .sort((a, b) => (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : a.i - b.i))
    .map((x) => x.i);
  const n = byFolder.length;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let step = Math.max(1, Math.round(n * 0.6180339887));
  while (n > 1 && gcd(step, n) !== 1) step++;
  return Array.from({ length: n }, (_, j) => byFolder[(j * step) % n] as number);
}

interface Copy {
  readonly n: number;
  /** Added to the second component of every version (0: the copy keeps the real versions). */
  readonly shift: number;
  /** Appended to every package name, or '' for a copy that keeps the real names. */
  readonly suffix: string;
  /** The chance that this copy keeps a CVE real (shared with the other copies). */
  readonly cveShare: number;
}

/**
 * The id a copy names instead of `id`. Every copy maps the same id the same way, so the alias
 * graph of each copy is the real one's. CVE ids stay CVE-shaped (the store indexes CVEs named
 * in `related`, and CVE facts join on them): a copy keeps a CVE real with the chance
 * `cveShare`, which is the share of the real data's CVE keys that more than one database names
 * (GHSA and PYSEC, Go and AlmaLinux…). Each copy then shares CVEs with the others as real
 * databases share them with each other: rewriting every CVE would make each copy an island
 * that no CVE fact reaches; keeping every one would make each CVE's alias group ~24x its real
 * size. A rewritten CVE gets a number past any real one (copy × 10^8 + number). Other ids
 * become `SIM-<n>-<id>`, as the records they name are.
 */
function mapId(id: string, copy: Copy): string {
  const cve = CVE.exec(id);
  if (cve === null) return `SIM-${copy.n}-${id}`;
  if (copy.n === 0 || unitHash(`${copy.n}:${id}`) < copy.cveShare) return id;
  return `CVE-${cve[1]}-${copy.n * CVE_COPY_STRIDE + Number(cve[2])}`;
}

/** `pkg:type/ns/name@version?q#sub` with `suffix` after the name. */
function renamedPurl(purl: string, suffix: string): string {
  const cut = purl.search(/[?#]/);
  const head = cut < 0 ? purl : purl.slice(0, cut);
  const tail = cut < 0 ? '' : purl.slice(cut);
  const at = head.indexOf('@', head.lastIndexOf('/') + 1);
  return at < 0
    ? `${head}${suffix}${tail}`
    : `${head.slice(0, at)}${suffix}${head.slice(at)}${tail}`;
}

function shiftVersion(v: string, by: number): string | undefined {
  // `0` is "from the first version", whatever the scheme.
  if (v === '0') return v;
  const m = SHIFTABLE.exec(v);
  return m === null ? undefined : `${m[1] ?? ''}${m[2]}.${Number(m[3]) + by}${m[4]}`;
}

function compares(scheme: VersionScheme, a: string, b: string): number | undefined {
  try {
    return scheme.compare(a, b);
  } catch {
    return undefined;
  }
}

/**
 * An affected entry with every version `by` higher in its second component, or undefined when
 * a version has no such component, the scheme is unknown (GIT ranges name commits: left as
 * they are), a shifted version is one the scheme refuses, or a range's events would order
 * differently: then the entry keeps its real versions.
 */
function shiftedAffected(a: OsvAffected, by: number): OsvAffected | undefined {
  const scheme = a.package === undefined ? undefined : schemeFor(a.package.ecosystem);
  // An ecosystem without a scheme here (CRAN, …): nothing can check that the order holds.
  if (scheme === undefined) return undefined;
  const ranges: NonNullable<OsvAffected['ranges']> = [];
  for (const r of a.ranges ?? []) {
    if (r.type === 'GIT') {
      ranges.push(r);
      continue;
    }
    const events: typeof r.events = [];
    const before: string[] = [];
    const after: string[] = [];
    for (const e of r.events) {
      const [kind, value] = Object.entries(e)[0] as [string, string];
      const moved = shiftVersion(value, by);
      if (moved === undefined) return undefined;
      // SEMVER: the same number added to every minor keeps SemVer's order by definition.
      if (r.type === 'ECOSYSTEM' && value !== '0') {
        if (!scheme.valid(moved)) return undefined;
        before.push(value);
        after.push(moved);
      }
      events.push({ [kind]: moved } as (typeof r.events)[number]);
    }
    for (let i = 0; i < before.length; i++)
      for (let j = i + 1; j < before.length; j++) {
        const was = compares(scheme, before[i] as string, before[j] as string);
        if (was === undefined || was !== compares(scheme, after[i] as string, after[j] as string))
          return undefined;
      }
    ranges.push({ ...r, events });
  }
  let versions: string[] | undefined;
  if (a.versions !== undefined) {
    versions = [];
    for (const v of a.versions) {
      const moved = shiftVersion(v, by);
      if (moved === undefined || !scheme.valid(moved)) return undefined;
      versions.push(moved);
    }
  }
  return {
    ...a,
    ...(a.ranges === undefined ? {} : { ranges }),
    ...(versions === undefined ? {} : { versions }),
  };
}

interface Counts {
  shifted: number;
  unshifted: number;
}

/** One copy of a real record (a fresh object, parsed from its JSON). */
function simulateRecord(
  real: OsvRecord,
  copy: Copy,
  shiftVersions: boolean,
  counts: Counts,
): OsvRecord {
  const ids = (list: string[] | undefined) => list?.map((id) => mapId(id, copy));
  const affected = real.affected?.map((a) => {
    let out: OsvAffected = a;
    if (copy.suffix !== '' && a.package !== undefined)
      out = {
        ...a,
        package: {
          ...a.package,
          name: `${a.package.name}${copy.suffix}`,
          ...(a.package.purl === undefined
            ? {}
            : { purl: renamedPurl(a.package.purl, copy.suffix) }),
        },
      };
    if (!shiftVersions || copy.shift === 0) return out;
    const moved = shiftedAffected(out, copy.shift);
    if (moved === undefined) counts.unshifted++;
    else counts.shifted++;
    return moved ?? out;
  });
  return {
    ...real,
    id: `SIM-${copy.n}-${real.id}`,
    ...(real.aliases === undefined ? {} : { aliases: ids(real.aliases) }),
    ...(real.upstream === undefined ? {} : { upstream: ids(real.upstream) }),
    ...(real.related === undefined ? {} : { related: ids(real.related) }),
    ...(affected === undefined ? {} : { affected }),
    database_specific: {
      ...real.database_specific,
      simulated: `copy ${copy.n} of ${real.id}, for benchmarks only`,
    },
  };
}

/** Where one ecosystem's records go: an all.zip, or one file each. */
interface Sink {
  add(name: string, data: Buffer): void;
  close(): void;
}

function sinkFor(dir: string, layout: Layout): Sink {
  mkdirSync(dir, { recursive: true });
  if (layout === 'zip') {
    const zip = new ZipWriter(path.join(dir, 'all.zip'));
    return { add: (n, d) => zip.add(n, d), close: () => void zip.close() };
  }
  return { add: (n, d) => writeFileSync(path.join(dir, n), d), close: () => {} };
}

/** Replaces an earlier simulation; refuses a folder that is not one. */
function prepareOut(out: string): void {
  if (existsSync(out) && readdirSync(out).length > 0) {
    if (!existsSync(path.join(out, MARKER)))
      throw new Error(`${out} is not empty and holds no ${MARKER}: refusing to replace it`);
    rmSync(out, { recursive: true, force: true });
  }
  mkdirSync(out, { recursive: true });
}

function diskBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = statSync(p);
    total += st.isDirectory() ? diskBytes(p) : st.size;
  }
  return total;
}

/** modified_id.csv for one folder: `<modified>,<id>` for every record written, newest first. */
function writeCsv(
  file: string,
  real: readonly RealRecord[],
  members: readonly number[],
  copiesOf: (r: number) => number,
): void {
  const sorted = [...members].sort(
    (a, b) => (real[b] as RealRecord).modifiedMs - (real[a] as RealRecord).modifiedMs,
  );
  const fd = openSync(file, 'w');
  try {
    let lines: string[] = [];
    for (const r of sorted) {
      const rec = real[r] as RealRecord;
      for (let n = 0; n < copiesOf(r); n++) lines.push(`${rec.modified},SIM-${n}-${rec.id}\n`);
      if (lines.length >= 10_000) {
        writeSync(fd, lines.join(''));
        lines = [];
      }
    }
    writeSync(fd, lines.join(''));
  } finally {
    closeSync(fd);
  }
}

export function simulateOsv(opts: SimulateOptions): SimulateReport {
  const started = performance.now();
  const log = opts.log ?? (() => {});
  const layout = opts.layout ?? 'files';
  const renamedShare = opts.renamedShare ?? DEFAULT_RENAMED_SHARE;
  if (!Number.isInteger(opts.records) || opts.records < 1)
    throw new Error(`records must be a positive integer, not ${opts.records}`);
  const loaded = opts.real;
  const real = loaded.records;
  const R = real.length;
  if (R === 0) throw new Error('no real advisory records to multiply');
  const order = stratifiedOrder(real);
  const position = new Array<number>(R);
  for (const [j, r] of order.entries()) position[r] = j;
  const copies = Math.ceil(opts.records / R);
  // Copy n holds the record at position p when n·R + p < records.
  const copiesOf = (r: number) => {
    const p = position[r] as number;
    return opts.records > p ? Math.floor((opts.records - 1 - p) / R) + 1 : 0;
  };

  prepareOut(opts.out);
  writeFileSync(
    path.join(opts.out, MARKER),
    `# ${SIMULATED_LABEL}\n\nNot advisories. Generated by bench/scale/simulate-osv.ts on ${new Date().toISOString()}: ${opts.records} records (ids \`SIM-<copy>-<real id>\`) from ${R} real ones.\n`,
  );
  const sinks = new Map<string, Sink>();
  const ecosystems: Record<string, number> = {};
  const keys = new Set<string>();
  const aliases = new AliasCounter();
  const counts: Counts = { shifted: 0, unshifted: 0 };
  let jsonBytes = 0;
  let peakRss = 0;
  let copy: Copy | undefined;
  for (let i = 0; i < opts.records; i++) {
    const n = Math.floor(i / R);
    if (copy?.n !== n) {
      // Copy n renames when the running share of renamed copies passes the next whole copy.
      const renamed = n > 0 && Math.floor(n * renamedShare) > Math.floor((n - 1) * renamedShare);
      copy = {
        n,
        shift: n,
        suffix: renamed ? `-sim${n}` : '',
        cveShare: loaded.aliases.sharedKeyShare,
      };
    }
    const rec = real[order[i % R] as number] as RealRecord;
    let sim = simulateRecord(JSON.parse(rec.json) as OsvRecord, copy, true, counts);
    try {
      parseOsv(sim, sim.id);
    } catch {
      // A shift the checks above let through that the schema refuses: the real versions.
      sim = simulateRecord(JSON.parse(rec.json) as OsvRecord, copy, false, counts);
      parseOsv(sim, sim.id);
    }
    const data = Buffer.from(JSON.stringify(sim, null, 2));
    jsonBytes += data.length;
    let sink = sinks.get(rec.folder);
    if (sink === undefined) {
      sink = sinkFor(path.join(opts.out, rec.folder), layout);
      sinks.set(rec.folder, sink);
    }
    sink.add(`${sim.id}.json`, data);
    ecosystems[rec.folder] = (ecosystems[rec.folder] ?? 0) + 1;
    for (const a of sim.affected ?? [])
      if (a.package !== undefined) keys.add(`${a.package.ecosystem}#${a.package.name}`);
    aliases.add(`${n}:${databaseOf(rec.id)}`, namedIds(sim));
    if ((i + 1) % 50_000 === 0) {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      log(
        `${i + 1} records, ${(jsonBytes / 1e9).toFixed(2)} GB of JSON, ${((performance.now() - started) / 1000).toFixed(0)} s, RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`,
      );
    }
  }
  for (const sink of sinks.values()) sink.close();

  const members = new Map<string, number[]>();
  for (let r = 0; r < R; r++) {
    const folder = (real[r] as RealRecord).folder;
    if (copiesOf(r) === 0) continue;
    const list = members.get(folder);
    if (list === undefined) members.set(folder, [r]);
    else list.push(r);
  }
  for (const [folder, list] of members)
    writeCsv(path.join(opts.out, folder, 'modified_id.csv'), real, list, copiesOf);

  const report: SimulateReport = {
    label: SIMULATED_LABEL,
    out: opts.out,
    layout,
    records: opts.records,
    realRecords: R,
    realDuplicateIds: loaded.duplicates,
    realBadIds: loaded.badIds,
    copies,
    jsonBytes,
    diskBytes: diskBytes(opts.out),
    ecosystems,
    packageKeys: keys.size,
    realPackageKeys: loaded.packageKeys,
    realAliases: loaded.aliases,
    aliases: aliases.stats(),
    shiftedAffected: counts.shifted,
    unshiftedAffected: counts.unshifted,
    loadSeconds: loaded.seconds,
    seconds: (performance.now() - started) / 1000,
    peakRssMb: Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 1e6,
  };
  writeFileSync(path.join(opts.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** The command that syncs a zip-layout simulation into an embedded store. */
export function syncCommand(report: SimulateReport, db: string): string {
  const rel = path.relative(PROJECT_ROOT, report.out);
  const base = rel === '' ? '.' : rel.startsWith('..') ? report.out : rel;
  // A folder tree syncs as one source; zips one source each (one per ecosystem, as osv.dev's).
  const froms =
    report.layout === 'files'
      ? [`--from '${base}'`]
      : Object.keys(report.ecosystems)
          .sort()
          .map((e) => `--from '${path.join(base, e, 'all.zip')}'`);
  return `npm run bosun -- db sync --db ${db} ${froms.join(' ')}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '500000' },
      out: { type: 'string', default: DEFAULT_OUT },
      from: { type: 'string', multiple: true },
      layout: { type: 'string', default: 'files' },
      'renamed-share': { type: 'string', default: String(DEFAULT_RENAMED_SHARE) },
    },
  });
  const layout = values.layout;
  if (layout !== 'zip' && layout !== 'files')
    throw new Error(`--layout is zip or files, not ${layout}`);
  const log = (line: string) => console.error(line);
  const report = simulateOsv({
    out: path.resolve(values.out),
    records: Number(values.records),
    real: loadRealRecords(values.from ?? [DEFAULT_SOURCE], log),
    layout,
    renamedShare: Number(values['renamed-share']),
    log,
  });
  console.log(JSON.stringify(report, null, 2));
  console.log(`\n${SIMULATED_LABEL}\nsync it: ${syncCommand(report, '.local/bench/scale/db')}`);
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
)
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
