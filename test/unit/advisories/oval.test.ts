/**
 * OVAL files (advisories/importers/oval.ts) on the publishers' real files: Microsoft's whole
 * azurelinux-3.0 and cbl-mariner-1.0 files, and the fixtures of vunnel (checked against its
 * `snapshots/`, its own reading of the same definitions) and vuln-list-update (checked against
 * its `golden/` files), with their deliberately broken inputs.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ImportIssue } from '../../../shared/advisories/importers/decode.js';
import { importOval, isOvalName } from '../../../shared/advisories/importers/oval.js';
import { rpmVersion } from '../../../shared/advisories/importers/oval-document.js';
import type { OsvAffected, OsvRecord } from '../../../shared/advisories/osv.js';
import { rpm } from '../../../shared/versions/rpm.js';
import { dataDir } from '../../support/fixtures.js';

const advisories = () => path.join(dataDir(), 'advisories');
const vunnel = (provider: string) =>
  path.join(advisories(), 'vunnel-fixtures/tests/unit/providers', provider, 'test-fixtures');
const vulnList = (...p: string[]) => path.join(advisories(), 'vuln-list-update-fixtures', ...p);

function imported(file: string, content: Buffer = readFileSync(file), opts = {}) {
  const issues: ImportIssue[] = [];
  const records = importOval(content, path.basename(file), issues, opts);
  return { records, issues, messages: issues.map((i) => i.message) };
}

const byId = (records: readonly OsvRecord[], id: string) => {
  const r = records.find((x) => x.id === id);
  if (r === undefined) throw new Error(`no record ${id}`);
  return r;
};

/** `ecosystem#name` → the entry's events, for comparing with other readers' outputs. */
const eventsOf = (r: OsvRecord) =>
  Object.fromEntries(
    (r.affected ?? []).map((a: OsvAffected) => [
      `${a.package?.ecosystem}#${a.package?.name}`,
      a.ranges?.map((x) => x.events),
    ]),
  );

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });

describe('Microsoft OVAL: the whole azurelinux-3.0 file', () => {
  const file = () => path.join(advisories(), 'azurelinux-oval/azurelinux-3.0-oval.xml');

  it('makes one record per CVE and one entry per applicable package, without issues', () => {
    const xml = readFileSync(file(), 'utf8');
    const { records, issues } = imported(file());
    expect(issues).toEqual([]);
    // Counted in the file by other fields than the importer reads: the title names the package.
    const definitions = [...xml.matchAll(/<definition [^>]*>([\s\S]*?)<\/definition>/g)].map(
      (m) => m[1] as string,
    );
    expect(definitions).toHaveLength(1222);
    const cve = (d: string) => /ref_id="([^"]+)" [^>]*source="CVE"/.exec(d)?.[1];
    expect(records).toHaveLength(new Set(definitions.map(cve)).size);
    expect(records).toHaveLength(1005);
    const applicable = new Set(
      definitions
        .filter((d) => !d.includes('<patchable>Not Applicable</patchable>'))
        .map((d) => `${cve(d)} ${/affecting package (\S+)/.exec(d)?.[1]}`),
    );
    expect(
      records
        .flatMap((r) => (r.affected ?? []).map((a) => `${r.aliases?.[0]} ${a.package?.name}`))
        .sort(),
    ).toEqual([...applicable].sort());
    expect(
      new Set(records.flatMap((r) => (r.affected ?? []).map((a) => a.package?.ecosystem))),
    ).toEqual(new Set(['Azure Linux:3']));
  });

  it('reads a definition exactly: the fixed evr without its zero epoch, severity, dates, CVE alias', () => {
    const { records } = imported(file());
    expect(byId(records, 'AZL-3-CVE-2024-47191')).toEqual({
      id: 'AZL-3-CVE-2024-47191',
      modified: '2024-07-23T22:05:39.000Z',
      published: '2024-07-23T22:05:39.000Z',
      aliases: ['CVE-2024-47191'],
      summary: 'CVE-2024-47191 affecting package oath-toolkit for versions less than 2.6.7-3',
      details:
        'CVE-2024-47191 affecting package oath-toolkit for versions less than 2.6.7-3. A patched version of the package is available.',
      affected: [
        {
          package: {
            ecosystem: 'Azure Linux:3',
            name: 'oath-toolkit',
            purl: 'pkg:rpm/azurelinux/oath-toolkit',
          },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.6.7-3.azl3' }] }],
        },
      ],
      database_specific: { severity: 'High' },
      references: [{ type: 'WEB', url: 'https://nvd.nist.gov/vuln/detail/CVE-2024-47191' }],
    });
  });

  it('merges the definitions of one CVE: packages, the later of two fixes, the highest severity, not-applicable ones left out', () => {
    const { records } = imported(file());
    // Two definitions of CVE-2023-1393 in xorg-x11-server: below 1.20.10-4, and below 1.20.10-6.
    expect(eventsOf(byId(records, 'AZL-3-CVE-2023-1393'))).toEqual({
      'Azure Linux:3#xorg-x11-server': [[{ introduced: '0' }, { fixed: '1.20.10-6.azl3' }]],
    });
    // Seven definitions, cloud-hypervisor's "no longer is or was never applicable".
    const zlib = byId(records, 'AZL-3-CVE-2023-45853');
    expect(Object.keys(eventsOf(zlib)).sort()).toEqual(
      ['cloud-hypervisor-cvm', 'keras', 'rubygem-mini_portile2', 'rust', 'tcl', 'zlib'].map(
        (n) => `Azure Linux:3#${n}`,
      ),
    );
    // curl is High, cmake Medium: the record is as severe as its worst package.
    expect(byId(records, 'AZL-3-CVE-2024-2398').database_specific).toEqual({ severity: 'High' });
  });
});

describe('Microsoft OVAL: the whole cbl-mariner-1.0 file', () => {
  const file = () => path.join(advisories(), 'azurelinux-oval/cbl-mariner-1.0-oval.xml');

  it('reads unpatched definitions as affected up to the version named, with no fix, and not-applicable CVEs as records without packages', () => {
    const { records, issues } = imported(file());
    expect(issues).toEqual([]);
    expect(records).toHaveLength(2149);
    const gevent = byId(records, 'AZL-1-CVE-2022-4904').affected?.find(
      (a) => a.package?.name === 'python-gevent',
    );
    expect(gevent).toEqual({
      package: {
        ecosystem: 'Azure Linux:1',
        name: 'python-gevent',
        purl: 'pkg:rpm/mariner/python-gevent',
      },
      ranges: [
        { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '1.3.6-5.cm1' }] },
      ],
      database_specific: { fix_status: 'not-fixed' },
    });
    expect(eventsOf(byId(records, 'AZL-1-CVE-2022-4904'))['Azure Linux:1#c-ares']).toEqual([
      [{ introduced: '0' }, { fixed: '1.19.0-1.cm1' }],
    ]);
    // CVE-2022-41725: golang unpatched, gcc not applicable.
    expect(Object.keys(eventsOf(byId(records, 'AZL-1-CVE-2022-41725')))).toEqual([
      'Azure Linux:1#golang',
    ]);
    const xml = readFileSync(file(), 'utf8');
    const onlyNotApplicable = new Map<string, boolean>();
    for (const [, body] of xml.matchAll(/<definition [^>]*>([\s\S]*?)<\/definition>/g)) {
      const cve = /ref_id="([^"]+)"/.exec(body as string)?.[1] as string;
      const na = (body as string).includes('<patchable>Not Applicable</patchable>');
      onlyNotApplicable.set(cve, (onlyNotApplicable.get(cve) ?? true) && na);
    }
    const none = [...onlyNotApplicable].filter(([, na]) => na).map(([cve]) => `AZL-1-${cve}`);
    expect(none.length).toBeGreaterThan(0);
    expect(
      records
        .filter((r) => (r.affected ?? []).length === 0)
        .map((r) => r.id)
        .sort(),
    ).toEqual(none.sort());
  });

  it('dates a CVE without advisory_date by the generator timestamp', () => {
    const { records } = imported(file());
    const timestamp = '2024-03-29T12:06:48.728Z';
    const undated = records.filter((r) => r.modified === timestamp);
    expect(undated.length).toBeGreaterThan(0);
    expect(undated.every((r) => r.published === undefined)).toBe(true);
    expect(records.filter((r) => r.published === undefined)).toEqual(undated);
  });
});

interface VunnelFix {
  Name: string;
  Version: string;
  VulnerableRange?: string;
  NamespaceName: string;
}
interface VunnelSnapshot {
  item: {
    Vulnerability: {
      Name: string;
      NamespaceName: string;
      Severity: string;
      FixedIn: VunnelFix[];
      CVSS: { vector_string: string }[];
      Metadata: { CVE?: { Name: string }[]; Issued?: string };
    };
  };
}
const snapshots = (provider: string) =>
  filesUnder(path.join(vunnel(provider), 'snapshots')).map(
    (f) => JSON.parse(readFileSync(f, 'utf8')) as VunnelSnapshot,
  );

/** vunnel's VulnerableRange (`> A, < B`, `<= A`, `< A`) as OSV events. */
function vunnelEvents(range: string): object[] {
  const events: object[] = [{ introduced: '0' }];
  for (const part of range.split(',').map((p) => p.trim())) {
    const [op, v] = part.split(' ') as [string, string];
    if (op === '>') events[0] = { introduced: rpmVersion(v) };
    else if (op === '<') events.push({ fixed: rpmVersion(v) });
    else if (op === '<=') events.push({ last_affected: rpmVersion(v) });
    else throw new Error(`vunnel range ${range}`);
  }
  return events;
}

describe('Microsoft OVAL: vunnel and vuln-list-update fixtures', () => {
  it('reads mariner-truncated-2.0 as vunnel does: packages, ranges, no fix, severity; its not-applicable CVE affects nothing', () => {
    const { records, issues } = imported(
      path.join(vunnel('mariner'), 'mariner-truncated-2.0-oval.xml'),
    );
    expect(issues).toEqual([]);
    const expected = snapshots('mariner');
    expect(expected).toHaveLength(4);
    for (const snap of expected) {
      const v = snap.item.Vulnerability;
      const record = byId(records, `AZL-2-${v.Name}`);
      expect(record.database_specific?.severity).toBe(v.Severity);
      expect(eventsOf(record)).toEqual(
        Object.fromEntries(
          v.FixedIn.map((f) => [
            `Azure Linux:2#${f.Name}`,
            [vunnelEvents(f.VulnerableRange ?? '')],
          ]),
        ),
      );
      for (const a of record.affected ?? [])
        expect(a.database_specific?.fix_status).toBe(
          v.FixedIn.find((f) => f.Name === a.package?.name)?.Version === 'None'
            ? 'not-fixed'
            : undefined,
        );
    }
    // glibc's CVE-2023-0687 is "Not Applicable": vunnel writes nothing, Bosun a record without packages.
    expect(byId(records, 'AZL-2-CVE-2023-0687').affected).toEqual([]);
    expect(records.map((r) => r.id).sort()).toEqual(
      [...expected.map((s) => `AZL-2-${s.item.Vulnerability.Name}`), 'AZL-2-CVE-2023-0687'].sort(),
    );
  });

  it('reads azure-linux-truncated-3.0 into Azure Linux:3 by its file name', () => {
    const { records, issues } = imported(
      path.join(vunnel('mariner'), 'azure-linux-truncated-3.0-oval.xml'),
    );
    expect(issues).toEqual([]);
    expect(records).toHaveLength(3);
    expect(records.every((r) => r.id.startsWith('AZL-3-'))).toBe(true);
    expect(
      records
        .flatMap((r) => r.affected ?? [])
        .every((a) => a.package?.purl?.startsWith('pkg:rpm/azurelinux/')),
    ).toBe(true);
  });

  it.each([
    ['azurelinux-3.0-oval.xml', 'azure/3.0', '3'],
    ['cbl-mariner-1.0-oval.xml', 'mariner/1.0', '1'],
    // The 2.0 preview has 1.0's packages (`.cm1`) too: its file name says 2.
    ['cbl-mariner-2.0-preview-oval.xml', 'mariner/2.0', '2'],
  ])(
    "reads %s as vuln-list-update does: each definition's package and evr",
    (name, golden, release) => {
      const { records, issues } = imported(vulnList('mariner/testdata/happy', name));
      expect(issues).toEqual([]);
      const dir = vulnList('mariner/testdata/golden', golden);
      const tests = JSON.parse(readFileSync(path.join(dir, 'tests/tests.json'), 'utf8'))
        .RpminfoTests as {
        ID: string;
        Object: { ObjectRef: string };
        State: { StateRef: string };
      }[];
      const objects = JSON.parse(readFileSync(path.join(dir, 'objects/objects.json'), 'utf8'))
        .RpminfoObjects as {
        ID: string;
        Name: string;
      }[];
      const states = JSON.parse(readFileSync(path.join(dir, 'states/states.json'), 'utf8'))
        .RpminfoState as {
        ID: string;
        Evr: { Text: string; Operation: string };
      }[];
      const definitions = filesUnder(path.join(dir, 'definitions'));
      expect(records).toHaveLength(
        new Set(
          definitions.map((f) => JSON.parse(readFileSync(f, 'utf8')).Metadata.Reference.RefID),
        ).size,
      );
      for (const f of definitions) {
        const def = JSON.parse(readFileSync(f, 'utf8'));
        // Each criterion is one bound of the package's range (`greater than`: the lower one).
        let pkg = '';
        const events: object[] = [{ introduced: '0' }];
        for (const c of def.Criteria.Criterion as { TestRef: string }[]) {
          const test = tests.find((t) => t.ID === c.TestRef);
          pkg = objects.find((o) => o.ID === test?.Object.ObjectRef)?.Name as string;
          const evr = states.find((s) => s.ID === test?.State.StateRef)?.Evr as {
            Text: string;
            Operation: string;
          };
          const v = rpmVersion(evr.Text);
          if (evr.Operation === 'greater than') events[0] = { introduced: v };
          else events.push(evr.Operation === 'less than' ? { fixed: v } : { last_affected: v });
        }
        const record = byId(records, `AZL-${release}-${def.Metadata.Reference.RefID}`);
        expect(record.database_specific?.severity).toBe(def.Metadata.Severity);
        expect(eventsOf(record)[`Azure Linux:${release}#${pkg}`]).toEqual([events]);
      }
    },
  );

  it("refuses vuln-list-update's broken file with one issue and no record", () => {
    const { records, issues } = imported(vulnList('mariner/testdata/sad/cbl-mariner-1.0-oval.xml'));
    expect(records).toEqual([]);
    expect(issues).toEqual([
      {
        source: 'cbl-mariner-1.0-oval.xml',
        message: expect.stringMatching(/^cbl-mariner-1\.0-oval\.xml: not well-formed XML: /),
      },
    ]);
  });
});

/** vunnel's severity words for Oracle's (its oracle provider's severity_dict). */
const VUNNEL_SEVERITY: Record<string, string> = {
  LOW: 'Low',
  MODERATE: 'Medium',
  IMPORTANT: 'High',
  CRITICAL: 'Critical',
};

describe('Oracle ELSA OVAL', () => {
  it("reads vunnel's mock_data as vunnel does: the ELSA id, its release, packages, epochs, CVEs, severity, date", () => {
    const { records, messages } = imported(path.join(vunnel('oracle'), 'mock_data'));
    const expected = snapshots('oracle');
    expect(expected).toHaveLength(2);
    expect(records.map((r) => r.id).sort()).toEqual(
      expected.map((s) => s.item.Vulnerability.Name).sort(),
    );
    for (const snap of expected) {
      const v = snap.item.Vulnerability;
      const record = byId(records, v.Name);
      const release = v.NamespaceName.replace('ol:', '');
      expect(eventsOf(record)).toEqual(
        Object.fromEntries(
          v.FixedIn.map((f) => [
            `Oracle Linux:${release}#${f.Name}`,
            [[{ introduced: '0' }, { fixed: rpmVersion(f.Version) }]],
          ]),
        ),
      );
      expect(VUNNEL_SEVERITY[record.database_specific?.severity as string]).toBe(v.Severity);
      expect(record.upstream).toEqual((v.Metadata.CVE ?? []).map((c) => c.Name).sort());
      expect(record.published).toBe(`${v.Metadata.Issued}T00:00:00.000Z`);
    }
    // The bind epoch (30) is kept; kernel-uek's zero epoch is not written.
    expect(eventsOf(byId(records, 'ELSA-2007-0057'))['Oracle Linux:5#bind']).toEqual([
      [{ introduced: '0' }, { fixed: '30:9.3.3-8.el5' }],
    ]);
    // vunnel trimmed the tests, objects and states: the criteria are read from their comments.
    expect(messages).toEqual([
      expect.stringMatching(
        /^mock_data: ELSA-2007-0057: 17 criteria name tests the document does not hold .*read from their comments$/,
      ),
      expect.stringMatching(
        /^mock_data: ELSA-2018-4250: 13 criteria name tests the document does not hold .*read from their comments$/,
      ),
    ]);
  });

  it('keeps one fix per package and release when arches disagree (the highest, with an issue), and merges rebuilds of one arch', () => {
    const { records, messages } = imported(path.join(vunnel('oracle'), 'mock_per_arch_data'));
    // ELSA-2022-4803: rsyslog respun on aarch64 (57.0.4) but not on x86_64 (57.0.1).
    const rsyslog = byId(records, 'ELSA-2022-4803');
    expect(Object.keys(eventsOf(rsyslog))).toHaveLength(18);
    for (const events of Object.values(eventsOf(rsyslog)))
      expect(events).toEqual([[{ introduced: '0' }, { fixed: '8.24.0-57.0.4.el7_9.3' }]]);
    const archIssues = messages.filter((m) => m.includes('fixed at different versions per arch'));
    expect(archIssues).toHaveLength(18);
    expect(archIssues[0]).toBe(
      'mock_per_arch_data: ELSA-2022-4803: rsyslog on Oracle Linux 7 is fixed at different versions per arch (aarch64: {"fixed":"8.24.0-57.0.4.el7_9.3"}, x86_64: {"fixed":"8.24.0-57.0.1.el7_9.3"}); the highest is kept',
    );
    // ELSA-2025-10073: one fix for both arches.
    expect(eventsOf(byId(records, 'ELSA-2025-10073'))).toEqual({
      'Oracle Linux:10#firefox': [[{ introduced: '0' }, { fixed: '128.12.0-1.0.1.el10_0' }]],
    });
    // ELSA-2024-2961: two rebuilds of osbuild on each arch (110-1 and 110-1.0.1): the later.
    const osbuild = eventsOf(byId(records, 'ELSA-2024-2961'));
    expect(osbuild['Oracle Linux:8#osbuild']).toEqual([
      [{ introduced: '0' }, { fixed: '110-1.0.1.el8' }],
    ]);
    expect(osbuild['Oracle Linux:8#osbuild-composer']).toEqual([
      [{ introduced: '0' }, { fixed: '101-1.el8' }],
    ]);
    expect(messages.some((m) => m.includes('ELSA-2024-2961') && m.includes('per arch'))).toBe(
      false,
    );
    // A single CVE's CVSS vector is the record's.
    expect(byId(records, 'ELSA-2024-2961').severity).toEqual([
      { type: 'CVSS_V3', score: 'CVSS:3.0/AV:L/AC:L/PR:H/UI:R/S:U/C:H/I:H/A:L' },
    ]);
    expect(byId(records, 'ELSA-2025-10073').severity).toBeUndefined();
  });

  it('leaves Ksplice packages out, so that a plain openssl never matches a ksplice fix', () => {
    const { records, issues } = imported(path.join(vunnel('oracle'), 'mock_ksplice_data'));
    expect(issues).toEqual([]);
    // The ELSA stays (so that a later sync can rewrite it) with no affected package.
    expect(byId(records, 'ELSA-2021-9151').affected).toEqual([]);
    expect(byId(records, 'ELSA-2021-9151').upstream).toEqual(['CVE-2021-3449', 'CVE-2021-3450']);
  });

  interface Golden {
    Title: string;
    Severity: string;
    Cves: { ID: string }[] | null;
    References: { Source: string; ID: string }[];
    Issued: { Date: string };
    Criteria: GoldenCriteria;
  }
  interface GoldenCriteria {
    Operator: string;
    Criterias: GoldenCriteria[] | null;
    Criterions: { Comment: string }[] | null;
  }
  /** The (release, package, fix) triples of a vuln-list-update golden definition's criteria. */
  function goldenFixes(c: GoldenCriteria, release?: string): Map<string, string> {
    const out = new Map<string, string>();
    const here =
      (c.Criterions ?? [])
        .map((x) => /^Oracle Linux (\d+) is installed$/.exec(x.Comment)?.[1])
        .find((r) => r) ?? release;
    for (const x of c.Criterions ?? []) {
      const m = /^(\S+) is earlier than (\S+)$/.exec(x.Comment);
      if (m === null) continue;
      const key = `Oracle Linux:${here}#${m[1]}`;
      const v = rpmVersion(m[2] as string);
      const known = out.get(key);
      if (known === undefined || rpm.compare(v, known) > 0) out.set(key, v);
    }
    for (const sub of c.Criterias ?? [])
      for (const [k, v] of goldenFixes(sub, here)) {
        const known = out.get(k);
        if (known === undefined || rpm.compare(v, known) > 0) out.set(k, v);
      }
    return out;
  }

  it.each([
    ['all-positive-data.xml.bz2', 14],
    ['ELSA-2007-0057.xml', 1],
    ['elsa-2018-1196-1.xml.bz2', 1],
  ])("reads %s (bzip2 or plain) as vuln-list-update's golden files have it", (name, count) => {
    const { records } = imported(vulnList('oracle/oval/testdata', name));
    expect(records).toHaveLength(count);
    for (const record of records) {
      const golden = JSON.parse(
        readFileSync(vulnList('oracle/oval/testdata/golden', `${record.id}.json`), 'utf8'),
      ) as Golden;
      const fixes = Object.fromEntries(
        [...goldenFixes(golden.Criteria)].map(([k, v]) => [
          k,
          [[{ introduced: '0' }, { fixed: v }]],
        ]),
      );
      expect(eventsOf(record)).toEqual(fixes);
      expect(record.database_specific?.severity).toBe(golden.Severity);
      const cves = [
        ...(golden.Cves ?? []).map((c) => c.ID),
        ...golden.References.filter((r) => r.Source === 'CVE').map((r) => r.ID),
      ];
      expect(record.upstream ?? []).toEqual([...new Set(cves)].sort());
      expect(record.published).toBe(`${golden.Issued.Date}T00:00:00.000Z`);
      expect(record.summary).toBe(golden.Title);
    }
    // ELSA-2011-1268 names Oracle Linux 5 and 6: each package in the release whose branch it is in.
    if (name === 'all-positive-data.xml.bz2')
      expect(Object.keys(eventsOf(byId(records, 'ELSA-2011-1268'))).sort()).toEqual([
        'Oracle Linux:5#firefox',
        'Oracle Linux:5#xulrunner',
        'Oracle Linux:5#xulrunner-devel',
        'Oracle Linux:6#firefox',
        'Oracle Linux:6#xulrunner',
        'Oracle Linux:6#xulrunner-devel',
      ]);
  });

  it("reports vuln-list-update's broken and invalid inputs", () => {
    const dir = (n: string) => vulnList('oracle/oval/testdata', n);
    const broken = imported(dir('broken-oval-data.xml.bz2'));
    expect(broken.records).toEqual([]);
    expect(broken.messages).toEqual([
      expect.stringMatching(/^broken-oval-data\.xml\.bz2: not well-formed XML: /),
    ]);
    for (const n of ['invalid.txt', 'EOF.txt']) {
      const r = imported(dir(n));
      expect(r.records).toEqual([]);
      expect(r.messages).toEqual([
        expect.stringMatching(new RegExp(`^${n.replace('.', '\\.')}: not well-formed XML: `)),
      ]);
    }
    // `ELSA-2007:0057:` in the title: the id is the elsa reference's, and the disagreement an issue.
    const title = imported(dir('invalid-title-format.xml.bz2'));
    // The file has ELSA-2007-0057 twice, the second time with that title.
    expect(title.records.map((r) => r.id)).toEqual(['ELSA-2007-0057']);
    expect(title.messages).toEqual([
      'invalid-title-format.xml.bz2: ELSA-2007-0057: title names "ELSA-2007:0057", its reference "ELSA-2007-0057"; the reference\'s id is kept',
      'invalid-title-format.xml.bz2: ELSA-2007-0057: is in the file more than once; the first is kept',
    ]);
  });
});

describe('SUSE OVAL', () => {
  const file = () => path.join(vunnel('sles'), 'suse_truncated.xml');
  /** vunnel's SLES namespaces: `sles:15` takes SLES 15 and its LTSS, `sles:15.1` SP1's LTSS and BCL. */
  const ECOSYSTEMS: Record<string, string[]> = {
    'sles:15': ['SUSE:Linux Enterprise Server 15', 'SUSE:Linux Enterprise Server 15-LTSS'],
    'sles:15.1': [
      'SUSE:Linux Enterprise Server 15 SP1-LTSS',
      'SUSE:Linux Enterprise Server 15 SP1-BCL',
    ],
  };

  it('reads suse_truncated.xml as vunnel does where its tests are complete: per product, fixed versions, CVSS', () => {
    const { records } = imported(file());
    for (const snap of snapshots('sles')) {
      const v = snap.item.Vulnerability;
      if (v.Name === 'CVE-2010-1323') continue; // below: its state's operation is broken
      const ids = (ECOSYSTEMS[v.NamespaceName] ?? []).map(
        (e) => `SUSE-OVAL-${e.slice('SUSE:'.length).replace(/ /g, '-')}-${v.Name}`,
      );
      const ours = records.filter((r) => ids.includes(r.id));
      expect(ours.length, `${v.NamespaceName} ${v.Name}`).toBeGreaterThan(0);
      for (const record of ours) {
        // vunnel writes a "not affected" package as fixed at version 0; Bosun writes no entry.
        const fixes = v.FixedIn.filter((f) => f.Version !== '0');
        expect(Object.values(eventsOf(record))).toEqual(
          fixes.map((f) => [[{ introduced: '0' }, { fixed: rpmVersion(f.Version) }]]),
        );
        expect((record.affected ?? []).map((a) => a.package?.name)).toEqual(
          fixes.map((f) => f.Name),
        );
        expect(record.severity?.[0]?.score).toBe(v.CVSS[0]?.vector_string);
      }
    }
    expect(byId(records, 'SUSE-OVAL-Linux-Enterprise-Server-15-LTSS-CVE-2021-29154')).toMatchObject(
      {
        aliases: ['CVE-2021-29154'],
        modified: '2021-07-14T00:00:00.000Z',
        published: '2021-04-30T00:00:00.000Z',
        database_specific: { severity: 'Important' },
        affected: [
          {
            package: {
              ecosystem: 'SUSE:Linux Enterprise Server 15-LTSS',
              name: 'kernel-default',
              purl: 'pkg:rpm/suse/kernel-default',
            },
          },
        ],
      },
    );
    // "kernel-default is not affected" on the Basesystem module: a record without packages.
    expect(
      byId(records, 'SUSE-OVAL-Linux-Enterprise-Module-for-Basesystem-15-CVE-1999-0524').affected,
    ).toEqual([]);
  });

  it('names what it cannot evaluate: tests the truncated file lacks, an operation that is none, a misnamed container; no record claims those products unaffected', () => {
    const { records, messages } = imported(file());
    expect(messages).toContain(
      'suse_truncated.xml: <state> is no element of oval_definitions; its tests, objects and states are read',
    );
    expect(messages).toContain(
      'suse_truncated.xml: CVE-2010-1323: criteria Bosun cannot evaluate (evr operation "6"); they contribute no affected package',
    );
    expect(
      messages.some((m) =>
        /^suse_truncated\.xml: CVE-2021-29154: criteria Bosun cannot evaluate \(test "oval:org\.opensuse\.security:tst:2009503299" that the document does not hold; /.test(
          m,
        ),
      ),
    ).toBe(true);
    expect(records.some((r) => r.aliases?.[0] === 'CVE-2010-1323')).toBe(false);
    expect(records.some((r) => r.id.includes('SAP-Applications-15-CVE-2021-29154'))).toBe(false);
  });

  it('reads CVE-2010-1323 as vunnel does once its state says "less than" (a one-word edit of the real file)', () => {
    const xml = readFileSync(file(), 'utf8');
    expect(xml.match(/operation="6"/g)).toHaveLength(1);
    const { records } = imported(
      file(),
      Buffer.from(xml.replace('operation="6"', 'operation="less than"')),
    );
    const snap = snapshots('sles').find((s) => s.item.Vulnerability.Name === 'CVE-2010-1323');
    const expected = Object.fromEntries(
      (snap?.item.Vulnerability.FixedIn ?? []).map((f) => [
        `SUSE:Linux Enterprise Server 15#${f.Name}`,
        [[{ introduced: '0' }, { fixed: rpmVersion(f.Version) }]],
      ]),
    );
    expect(Object.keys(expected)).toHaveLength(8);
    expect(eventsOf(byId(records, 'SUSE-OVAL-Linux-Enterprise-Server-15-CVE-2010-1323'))).toEqual(
      expected,
    );
    expect(byId(records, 'SUSE-OVAL-Linux-Enterprise-Server-15-CVE-2010-1323').severity).toEqual([
      { type: 'CVSS_V3', score: 'CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:N' },
    ]);
  });
});

describe('OVAL files', () => {
  it("recognises the publishers' file names and no other advisory file", () => {
    const names = [
      'azurelinux-3.0-oval.xml',
      'cbl-mariner-2.0-oval.xml',
      'cbl-mariner-2.0-preview-oval.xml',
      'com.oracle.elsa-ol8.xml.bz2',
      'com.oracle.elsa-all.xml',
      'ELSA-2007-0057.xml',
      'all-positive-data.xml.bz2',
      'suse.linux.enterprise.server.15.xml.gz',
      'opensuse.leap.15.5.xml',
    ];
    expect(names.filter(isOvalName)).toEqual(names);
    const others = filesUnder(vulnList('amazon/testdata')).concat(
      filesUnder(path.join(advisories(), 'rustsec-osv/crates')).slice(0, 50),
    );
    expect(others.length).toBeGreaterThan(50);
    expect(others.filter(isOvalName)).toEqual([]);
    expect(
      filesUnder(path.join(advisories(), 'azurelinux-oval'))
        .filter(isOvalName)
        .map((f) => path.basename(f))
        .sort(),
    ).toEqual(['azurelinux-3.0-oval.xml', 'cbl-mariner-1.0-oval.xml']);
  });

  it("reads a gzip'd file as the plain one, and refuses a file that inflates past the limit", () => {
    const file = path.join(advisories(), 'azurelinux-oval/azurelinux-3.0-oval.xml');
    const plain = imported(file);
    const gzip = imported(file, gzipSync(readFileSync(file)));
    expect(gzip.records).toEqual(plain.records);
    const capped = imported(file, gzipSync(readFileSync(file)), { maxXmlBytes: 1_000_000 });
    expect(capped.records).toEqual([]);
    expect(capped.messages).toEqual([
      expect.stringMatching(
        /^azurelinux-3\.0-oval\.xml: not gzip or over 1000000 bytes inflated: /,
      ),
    ]);
    const bz2 = vulnList('oracle/oval/testdata/all-positive-data.xml.bz2');
    expect(imported(bz2, readFileSync(bz2), { maxXmlBytes: 10_000 }).messages).toEqual([
      'all-positive-data.xml.bz2: not bzip2 or over 10000 bytes inflated: inflates past 10000 bytes',
    ]);
  });

  it('refuses a file of more definitions than its limit, and a definition whose criteria expand past theirs', () => {
    const azl = path.join(advisories(), 'azurelinux-oval/azurelinux-3.0-oval.xml');
    expect(imported(azl, readFileSync(azl), { maxDefinitions: 1000 }).messages).toEqual([
      'azurelinux-3.0-oval.xml: 1222 definitions, over the 1000 an OVAL file may have here',
    ]);
    // CVE-2021-29154's SAP product has 11 kernel packages: 11 alternatives.
    const suse = imported(path.join(vunnel('sles'), 'suse_truncated.xml'), undefined, {
      maxClauses: 10,
    });
    expect(suse.messages).toContain(
      'suse_truncated.xml: CVE-2021-29154: criteria expand past 10 alternatives; no affected package',
    );
    expect(suse.records.some((r) => r.aliases?.[0] === 'CVE-2021-29154')).toBe(false);
  });

  it('needs the release of a Microsoft file whose name and packages do not say it', () => {
    const preview = readFileSync(
      vulnList('mariner/testdata/happy/cbl-mariner-2.0-preview-oval.xml'),
    );
    // The 2.0 preview mixes `.cm1` and `.cm2` packages; under another name it names no release.
    const unnamed = imported('feed.xml', preview);
    expect(unnamed.records).toEqual([]);
    expect(unnamed.messages).toEqual([
      'feed.xml: names no Azure Linux release: neither its file name (like azurelinux-3.0-oval.xml) nor its packages (.azl3, .cm2) say which; no record',
    ]);
    const told = imported('feed.xml', preview, { release: '2' });
    expect(told.records.map((r) => r.id).sort()).toEqual([
      'AZL-2-CVE-2014-8139',
      'AZL-2-CVE-2021-39924',
      'AZL-2-CVE-2022-21309',
      'AZL-2-CVE-2023-5678',
    ]);
  });

  it('refuses OVAL of publishers it does not read, and what is not OVAL, with one issue each', () => {
    const photon = path.join(
      advisories(),
      'claircore-fixtures/photon/testdata/com.vmware.phsa-photon3.xml',
    );
    expect(imported(photon).messages).toEqual([
      expect.stringMatching(
        /^com\.vmware\.phsa-photon3\.xml: definition "oval:com\.vmware\.phsa:def:\d+" is not Microsoft's, Oracle's or SUSE's OVAL/,
      ),
    ]);
    const repomd = vulnList('amazon/testdata/fixtures/repomd_valid.xml');
    expect(imported(repomd).messages).toEqual([
      'repomd_valid.xml: no <oval_definitions> element; not an OVAL definitions document',
    ]);
  });
});
