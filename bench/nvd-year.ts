/**
 * A year of NVD on loopback for `npm run bench:feeds`: NVD's CVE API 2.0 (`startIndex`,
 * `resultsPerPage`, `lastModStartDate`/`lastModEndDate`) answering from a synthetic year built
 * from the real NVD responses in ../shared/data/advisories.
 *
 * Synthetic volume over real content: every distinct real CVE object of those responses (vunnel's
 * 38-CVE page and single entry, osv.dev's 23 single responses and assembled page,
 * vuln-list-update's pages, claircore's feed file) is repeated, in turn, with its id renumbered
 * `CVE-2024-NNNNN` and its `lastModified` spread evenly over 2024, until the year holds `count`
 * CVEs (NVD published about 40,000 in 2024). Descriptions, references, configurations and
 * metrics are the real ones. `modify(n)` makes n of them modified now, as NVD's daily changes
 * are, with a new status so that their facts change.
 *
 * The server runs in the bench's process, so its work is in the timings; each CVE's JSON is
 * serialized once, and a page is those strings joined.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

/** The real NVD responses the year is built from, under the shared advisories folder. */
const REAL_PAGES = [
  'vunnel-fixtures/tests/unit/providers/nvd/test-fixtures/full-page.json',
  'vunnel-fixtures/tests/unit/providers/nvd/test-fixtures/single-entry.json',
  'osv-dev-vulnfeeds/vulnfeeds/conversion/nvd/testdata/test.json',
  'claircore-fixtures/enricher/cvss/testdata/feed.json',
  'vuln-list-update-fixtures/nvd/testdata/fixtures/respPageFull.json',
  'vuln-list-update-fixtures/nvd/testdata/fixtures/respPage2.json',
];
const SINGLES = 'osv-dev-vulnfeeds/vulnfeeds/test_data/nvdcve-2.0';

type RawCve = Record<string, unknown> & { id: string; lastModified: string };

interface YearCve {
  raw: RawCve;
  modified: number;
  json: string;
}

/** NVD's way of writing a time: UTC without a zone. */
const nvdTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '');

/** Every distinct real CVE object of the real responses, in file order. */
export function realCves(advisories: string): RawCve[] {
  const files = [
    ...REAL_PAGES.map((f) => path.join(advisories, f)),
    ...readdirSync(path.join(advisories, SINGLES))
      .filter((n) => n.endsWith('.json'))
      .sort()
      .map((n) => path.join(advisories, SINGLES, n)),
  ];
  const byId = new Map<string, RawCve>();
  for (const file of files)
    for (const v of JSON.parse(readFileSync(file, 'utf8')).vulnerabilities as { cve: RawCve }[])
      if (!byId.has(v.cve.id)) byId.set(v.cve.id, v.cve);
  return [...byId.values()];
}

export class NvdYear {
  private readonly cves: YearCve[];
  requests = 0;
  private constructor(
    private readonly server: Server,
    templates: readonly RawCve[],
    readonly count: number,
  ) {
    const start = Date.UTC(2024, 0, 1);
    const step = (366 * 86_400_000) / count;
    this.cves = Array.from({ length: count }, (_, i) => {
      const template = templates[i % templates.length] as RawCve;
      const modified = Math.floor(start + i * step);
      const raw = {
        ...template,
        id: `CVE-2024-${String(i + 1).padStart(5, '0')}`,
        lastModified: nvdTime(modified),
      };
      return { raw, modified, json: JSON.stringify(raw) };
    });
  }

  static async start(advisories: string, count: number): Promise<NvdYear> {
    let year: NvdYear | undefined;
    const server = createServer((req, res) => {
      const answer = year?.answer(new URL(req.url ?? '/', 'http://nvd').searchParams);
      res.writeHead(answer?.status ?? 503, { 'content-type': 'application/json' });
      res.end(answer?.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    year = new NvdYear(server, realCves(advisories), count);
    return year;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/rest/json/cves/2.0`;
  }

  /** Makes `n` CVEs, spread over the year, modified now with a status they did not have. */
  modify(n: number): void {
    const now = Date.now();
    const every = Math.max(1, Math.floor(this.cves.length / n));
    for (let i = 0, done = 0; i < this.cves.length && done < n; i += every, done++) {
      const c = this.cves[i] as YearCve;
      const status = c.raw.vulnStatus === 'Modified' ? 'Analyzed' : 'Modified';
      c.raw = { ...c.raw, vulnStatus: status, lastModified: nvdTime(now) };
      c.modified = now;
      c.json = JSON.stringify(c.raw);
    }
  }

  private answer(params: URLSearchParams): { status: number; body: string } {
    this.requests++;
    const perPage = Math.min(2000, Number(params.get('resultsPerPage') ?? 2000));
    const startIndex = Number(params.get('startIndex') ?? 0);
    const from = params.get('lastModStartDate');
    const to = params.get('lastModEndDate');
    let selected = this.cves;
    if (from !== null && to !== null) {
      const [start, end] = [Date.parse(from), Date.parse(to)];
      selected = this.cves
        .filter((c) => c.modified >= start && c.modified <= end)
        .sort((a, b) => a.modified - b.modified);
    }
    const slice = selected.slice(startIndex, startIndex + perPage);
    const head = JSON.stringify({
      resultsPerPage: slice.length,
      startIndex,
      totalResults: selected.length,
      format: 'NVD_CVE',
      version: '2.0',
      timestamp: nvdTime(Date.now()),
    });
    const cves = slice.map((c) => `{"cve":${c.json}}`).join(',');
    return { status: 200, body: `${head.slice(0, -1)},"vulnerabilities":[${cves}]}` };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
