/**
 * Reachability against its oracle, govulncheck's binary mode (Debian 12's govulncheck, run on
 * the real Go vulnerability database laid out as it reads it: test/support/govulndb.ts). For
 * every Go binary here, each of Bosun's Go findings says reachable or not exactly as
 * govulncheck does (it lists a vulnerability in binary mode when a vulnerable symbol, or any
 * symbol of a vulnerable package that names none, is in the binary).
 *
 * Binaries: programs built here with Debian's Go 1.19 that import net/url and call / do not
 * call its vulnerable Parse, each plain, stripped, PIE and both; esbuild (two toolchains) from
 * npm; Debian's docker-registry. This govulncheck (February 2023) cannot read stripped
 * binaries (it reads inlined calls through the go.func.* symbol, which stripping removes) nor
 * newer toolchains' build info: a stripped build is compared with govulncheck's answer on its
 * unstripped twin (same source and toolchain, same functions: test/unit/extractors/binary/go/
 * pclntab.test.ts shows the tables equal), and the real binaries it cannot read are listed in
 * docs/reachability.md and here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goBinary } from '../../../shared/extractors/binary/go/buildinfo.js';
import { matchPackages } from '../../../shared/matcher/match.js';
import { MemoryAdvisoryIndex } from '../../../shared/matcher/memory-index.js';
import type { Finding } from '../../../shared/matcher/types.js';
import { loadOsvDir } from '../../support/advisories.js';
import { setupFile } from '../../support/fixtures.js';
import { BUILDS, buildGo, goEnv, govulncheckPath } from '../../support/go-toolchain.js';
import { layOutGoVulnDb } from '../../support/govulndb.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-reach-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const db = path.join(work, 'vulndb');

const CALLS_PARSE = `package main

import (
	"fmt"
	"net/url"
	"os"
)

func main() {
	u, err := url.Parse(os.Args[0])
	fmt.Println(u, err)
}
`;
const ESCAPES_ONLY = `package main

import (
	"net/url"
	"os"
)

func main() {
	os.Stdout.WriteString(url.QueryEscape(os.Args[0]))
}
`;

/** A wider program: an HTTP server and client, TLS, archives, templates, regular expressions. */
const SERVER = `package main

import (
	"archive/zip"
	"encoding/json"
	"html/template"
	"net/http"
	"os"
	"regexp"
)

func main() {
	t := template.Must(template.New("p").Parse("<a href={{.}}>x</a>"))
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		_ = json.NewDecoder(r.Body).Decode(&v)
		_ = t.Execute(w, regexp.MustCompile(r.URL.Query().Get("re")).String())
	})
	if z, err := zip.OpenReader(os.Args[0]); err == nil {
		_ = z.Close()
	}
	_, _ = http.Get("https://example.com/")
	_ = http.ListenAndServeTLS(":8443", "cert.pem", "key.pem", nil)
}
`;

/**
 * A module from outside the standard library, vendored: golang.org/x/text at v0.3.5, which
 * GO-2021-0113 (language.Parse, MustParse, MatchStrings, ParseAcceptLanguage) and GO-2022-1059
 * (language.ParseAcceptLanguage, MatchStrings) affect. The vendored package is written here and
 * has only the functions those advisories name (stand-ins: what is checked is which of them the
 * linker keeps); the program calls Parse alone.
 */
const X_TEXT = {
  'golang.org/x/text': {
    version: 'v0.3.5',
    files: {
      'language/language.go': `package language

type Tag struct{ s string }

func (t Tag) String() string { return t.s }

// The real Parse is far too large to inline; a one-line stand-in would be inlined with no
// instruction of its own, which leaves no trace for govulncheck or Bosun (docs/reachability.md).
//
//go:noinline
func Parse(s string) (Tag, error) { return Tag{s}, nil }

func MustParse(s string) Tag { t, _ := Parse(s); return t }

func ParseAcceptLanguage(s string) ([]Tag, []float32, error) { return []Tag{{s}}, []float32{1}, nil }

func MatchStrings(m interface{}, lang ...string) (Tag, int) { return Tag{lang[0]}, 0 }
`,
    },
  },
};
const CALLS_X_TEXT = `package main

import (
	"os"

	"golang.org/x/text/language"
)

func main() {
	t, _ := language.Parse(os.Args[0])
	os.Stdout.WriteString(t.String())
}
`;

/** govulncheck's answer: the ids it lists for the binary, or why it could not read it. */
function govulncheck(binary: string): { ids: Set<string> } | { error: string } {
  const run = spawnSync(govulncheckPath(), ['-json', binary], {
    env: { ...goEnv(work), GOVULNDB: `file://${db}` },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (run.status !== 0) return { error: run.stderr.trim() };
  const out = JSON.parse(run.stdout) as { Vulns: { OSV: { id: string } }[] | null };
  return { ids: new Set((out.Vulns ?? []).map((v) => v.OSV.id)) };
}

let index: MemoryAdvisoryIndex;
async function bosun(binary: string): Promise<Finding[]> {
  const result = await goBinary.extract('app', readFileSync(binary));
  const packages = result.packages.map((p) => ({ ...p, ecosystem: 'Go' }));
  return (await matchPackages(packages, index)).findings;
}

/** Each finding's verdict next to govulncheck's (true when it lists one of its advisories). */
function compare(findings: readonly Finding[], listed: ReadonlySet<string>) {
  const rows = findings.map((f) => ({
    id: f.advisoryIds.join(','),
    bosun: f.reachability?.reachable,
    govulncheck: f.advisoryIds.some((id) => listed.has(id)),
  }));
  // What Bosun cannot tell (the advisory names no package) govulncheck's binary mode cannot
  // list either: it looks vulnerabilities up by the binary's packages.
  const unknown = rows.filter((r) => r.bosun === 'unknown');
  expect(unknown.filter((r) => r.govulncheck)).toEqual([]);
  const told = rows.filter((r) => r.bosun !== 'unknown');
  expect(told.filter((r) => r.bosun !== r.govulncheck)).toEqual([]);
  // Nothing govulncheck lists is missing from Bosun's findings.
  const found = new Set(findings.flatMap((f) => f.advisoryIds));
  expect([...listed].filter((id) => !found.has(id))).toEqual([]);
  return told;
}

let built: Record<string, Record<string, string>>;
beforeAll(() => {
  expect(layOutGoVulnDb(db)).toBeGreaterThan(1000);
  index = new MemoryAdvisoryIndex();
  for (const r of loadOsvDir('golang-vulndb/data/osv').records) index.add(r);
  built = {
    'calls-parse': buildGo(work, 'callsparse', CALLS_PARSE),
    'escapes-only': buildGo(work, 'escapesonly', ESCAPES_ONLY),
    server: buildGo(work, 'server', SERVER),
    'x-text': buildGo(work, 'xtext', CALLS_X_TEXT, X_TEXT),
  };
}, 300_000);

describe('Go reachability = govulncheck binary mode', () => {
  for (const program of ['calls-parse', 'escapes-only', 'server', 'x-text'])
    it(`${program}: every build, every advisory`, async () => {
      const builds = built[program] as Record<string, string>;
      const oracle = new Map<string, Set<string>>();
      for (const b of BUILDS) {
        const answer = govulncheck(builds[b.label] as string);
        if ('ids' in answer) oracle.set(b.label, answer.ids);
        // This govulncheck needs the symbol table a stripped build has not.
        else expect(`${b.label}: ${answer.error}`).toMatch(/stripped: .*no symbol "go.func.\*"/);
      }
      expect([...oracle.keys()]).toEqual(['plain', 'pie']);
      const twin = (label: string) =>
        oracle.get(label.replace('-stripped', '').replace('stripped', 'plain'));
      for (const b of BUILDS) {
        const told = compare(await bosun(builds[b.label] as string), twin(b.label) as Set<string>);
        expect(told.length, b.label).toBeGreaterThan(0);
      }
      // The vulnerable net/url.Parse: linked where it is called, and only there.
      const parse = (await bosun(builds.plain as string)).find((f) =>
        f.advisoryIds.includes('GO-2025-4010'),
      );
      expect(parse?.reachability).toMatchObject(
        program === 'calls-parse' || program === 'server'
          ? { reachable: true, precision: 'symbol', source: 'go-pclntab' }
          : { reachable: false, precision: 'symbol', source: 'go-pclntab' },
      );
      if (program === 'x-text') {
        // The vendored module is matched by its version, and judged by its linked functions.
        const xtext = (await bosun(builds.plain as string)).filter(
          (f) => f.package.name === 'golang.org/x/text',
        );
        const verdict = (id: string) =>
          xtext.find((f) => f.advisoryIds.includes(id))?.reachability?.reachable;
        expect(verdict('GO-2021-0113')).toBe(true);
        expect(verdict('GO-2022-1059')).toBe(false);
      }
      // GO-2023-1840 names the runtime package, no symbol: the package is in every binary.
      const runtime = (await bosun(builds.plain as string)).find((f) =>
        f.advisoryIds.includes('GO-2023-1840'),
      );
      expect(runtime?.reachability).toMatchObject({ reachable: true, precision: 'package' });
    }, 120_000);

  const real: Record<string, () => string | undefined> = {
    'esbuild 0.15.18': () => setupFile('go-binaries/esbuild-linux-64_0.15.18'),
    'esbuild 0.28.2': () => setupFile('go-binaries/_esbuild_linux-x64_0.28.2'),
    'docker-registry': () =>
      existsSync('/usr/bin/docker-registry') ? '/usr/bin/docker-registry' : undefined,
  };
  it('real binaries: the same answer where govulncheck can read them', async () => {
    const unread: string[] = [];
    for (const [label, file] of Object.entries(real)) {
      const f = file();
      if (f === undefined) throw new Error(`${label} is not installed: run npm run setup`);
      const findings = await bosun(f);
      expect(findings.length, label).toBeGreaterThan(0);
      // Every Go finding of a binary whose table was read carries a verdict.
      for (const x of findings) expect(x.reachability?.source, label).toBe('go-pclntab');
      const answer = govulncheck(f);
      if ('error' in answer) unread.push(`${label}: ${answer.error}`);
      else compare(findings, answer.ids);
    }
    // docs/reachability.md lists these: stripped (no go.func.* symbol), and a build info
    // layout newer than this govulncheck.
    expect(unread).toEqual([
      'esbuild 0.15.18: govulncheck: vulncheck.Binary: reading go.func.*: no symbol "go.func.*"',
      'esbuild 0.28.2: govulncheck: vulncheck.Binary: not a Go executable',
      'docker-registry: govulncheck: vulncheck.Binary: reading go.func.*: no symbol "go.func.*"',
    ]);
  }, 120_000);
});
