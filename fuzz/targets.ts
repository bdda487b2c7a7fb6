/**
 * The one explicit registry of fuzz targets: every parser and reader of untrusted bytes that
 * Bosun has (package databases, binaries, archives, manifests, layers, advisory feeds, events).
 * A target names its real seeds, the function under test, the errors that function may throw
 * (its typed errors: anything else is a crash) and the invariants its result must hold.
 * test/unit/fuzz/registry.test.ts holds this list to the extractor registry, so a new extractor
 * without a target does not pass CI.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DATA_DIR } from '../scripts/demo-data.js';
import { importUpdateInfo } from '../shared/advisories/importers/alas.js';
import { AlpineSecdbImporter } from '../shared/advisories/importers/alpine-secdb.js';
import { debianTrackerFacts } from '../shared/advisories/importers/debian-tracker.js';
import type { ImportIssue } from '../shared/advisories/importers/decode.js';
import { epssFacts } from '../shared/advisories/importers/epss.js';
import { kevFacts, kevFactsFromCsv } from '../shared/advisories/importers/kev.js';
import { importNpmLegacy } from '../shared/advisories/importers/npm-legacy.js';
import { nvdFactsOfPage } from '../shared/advisories/importers/nvd.js';
import { importOval } from '../shared/advisories/importers/oval.js';
import { PhotonImporter } from '../shared/advisories/importers/photon.js';
import { importRepositoryToCpe } from '../shared/advisories/importers/redhat-repository-to-cpe.js';
import { importRedHatVex } from '../shared/advisories/importers/redhat-vex.js';
import { importRubysec } from '../shared/advisories/importers/rubysec.js';
import { importSecdbJson } from '../shared/advisories/importers/secdb-json.js';
import { BundledImporters, decodeAdvisoryBuffer } from '../shared/advisories/load.js';
import { type OsvRecord, parseOsv } from '../shared/advisories/osv.js';
import { BosunError } from '../shared/errors.js';
import { ecrImageActionEvent } from '../shared/events/ecr.js';
import { parseJsonEvent } from '../shared/events/parse.js';
import { parseRegistryNotification } from '../shared/events/registry-notification.js';
import { parseScanMessage } from '../shared/events/scan-request.js';
import { ElfError, sections } from '../shared/extractors/binary/elf.js';
import { goBinary } from '../shared/extractors/binary/go/buildinfo.js';
import { rustAuditable } from '../shared/extractors/binary/rust/auditable.js';
import { dotnetDeps } from '../shared/extractors/language/dotnet/deps.js';
import { javaArchive } from '../shared/extractors/language/java/archive.js';
import { npmInstalled } from '../shared/extractors/language/npm/installed.js';
import { npmLockfile } from '../shared/extractors/language/npm/lockfile.js';
import { composerInstalled } from '../shared/extractors/language/php/composer.js';
import { pythonInstalled } from '../shared/extractors/language/python/installed.js';
import { rubyGemspec } from '../shared/extractors/language/ruby/gemspec.js';
import { apkInstalled } from '../shared/extractors/os/apk/installed.js';
import { dpkgFiles } from '../shared/extractors/os/dpkg/files.js';
import { dpkgStatus } from '../shared/extractors/os/dpkg/status.js';
import { contentSetsOf } from '../shared/extractors/os/release/content-manifests.js';
import { detectOs } from '../shared/extractors/os/release/detect.js';
import { rpmBdb } from '../shared/extractors/os/rpm/bdb.js';
import { parseRpmHeader, RpmHeaderError, TAG } from '../shared/extractors/os/rpm/header.js';
import { rpmNdb } from '../shared/extractors/os/rpm/ndb.js';
import { rpmSqlite } from '../shared/extractors/os/rpm/sqlite.js';
import type { Extractor, ExtractResult } from '../shared/extractors/types.js';
import { DockerArchiveSource } from '../shared/image/docker-archive.js';
import { OciArchiveSource } from '../shared/image/oci-layout.js';
import type { ImageSet, ImageSource } from '../shared/image/types.js';
import { decodeLayerResult, encodeLayerResult } from '../shared/layers/cache-format.js';
import { PiecedFile } from '../shared/layers/file-parts.js';
import { readLayer } from '../shared/layers/reader.js';
import { FileTree } from '../shared/layers/tree.js';
import { parseImageConfig, parseManifest } from '../shared/registry/manifest.js';
import { parseReference } from '../shared/registry/reference.js';
import { ZipReader } from '../shared/zip.js';
import { data, dataFiles, debMember, debTar, project, type Seed, tool, zstd } from './seeds.js';

// biome-ignore lint/suspicious/noExplicitAny: error classes of any constructor signature
type ErrorClass = abstract new (...args: any[]) => Error;

export interface FuzzTarget {
  /** Flat, stable name: the folder of its regression fixtures (test/fixtures/fuzz/<name>). */
  readonly name: string;
  /** The module under test, for the report. */
  readonly module: string;
  readonly seeds: () => Seed[] | Promise<Seed[]>;
  /** The function under test; returns what `check` inspects. */
  readonly run: (input: Buffer) => unknown;
  /** Broken invariants of a result, [] when it holds. */
  readonly check?: (result: unknown) => string[];
  /** The errors the function may throw: its own typed errors. Anything else is a crash. */
  readonly allowed: readonly ErrorClass[];
  /** Cases of the short (CI) pass; weighted by cost so the pass stays near a minute. */
  readonly shortCases: number;
  /** Per-case watchdog budget; past it the case is a hang. */
  readonly budgetMs?: number;
}

/** Invariants every extractor result keeps, whatever its input. */
function extractResult(value: unknown): string[] {
  const r = value as ExtractResult;
  const bad: string[] = [];
  if (!Array.isArray(r?.packages)) return ['packages is not an array'];
  if (!Array.isArray(r.issues)) return ['issues is not an array'];
  for (const p of r.packages) {
    for (const key of ['type', 'name', 'version', 'location'] as const)
      if (typeof p[key] !== 'string') bad.push(`package ${key} is ${typeof p[key]}`);
    if (p.name === '') bad.push('a package with an empty name');
  }
  for (const i of r.issues)
    if (typeof i.message !== 'string' || typeof i.location !== 'string')
      bad.push('an issue without message or location');
  return bad;
}

function extractorTarget(
  name: string,
  x: Extractor,
  path: string,
  seeds: () => Seed[],
  shortCases: number,
  extra: readonly ErrorClass[] = [],
): FuzzTarget {
  return {
    name,
    module: `shared/extractors/${x.id}`,
    seeds,
    run: (input) => x.extract(path, input),
    check: extractResult,
    allowed: [BosunError, ...extra],
    shortCases,
  };
}

/** Invariants of the records an importer returns: each passes the OSV schema again. */
function osvRecords(value: unknown): string[] {
  const records = (value === undefined ? [] : value) as OsvRecord[];
  if (!Array.isArray(records)) return ['not an array of records'];
  const bad: string[] = [];
  for (const r of records) {
    try {
      parseOsv(r, 'fuzz');
    } catch (error) {
      bad.push(`a record the OSV schema refuses: ${(error as Error).message.slice(0, 200)}`);
    }
  }
  return bad;
}

/** Importers report through `issues`; the harness checks each issue names its source. */
function withIssues<T>(f: (issues: ImportIssue[]) => T): { value: T; issues: ImportIssue[] } {
  const issues: ImportIssue[] = [];
  return { value: f(issues), issues };
}

function importResult(check: (v: unknown) => string[]) {
  return (value: unknown): string[] => {
    const { value: v, issues } = value as { value: unknown; issues: ImportIssue[] };
    const bad = check(v);
    for (const i of issues)
      if (typeof i.message !== 'string' || typeof i.source !== 'string')
        bad.push('an issue without source or message');
    return bad;
  };
}

function factList(value: unknown): string[] {
  const facts = value as { cve?: unknown }[];
  if (!Array.isArray(facts)) return ['facts is not an array'];
  return facts.some((f) => typeof f.cve !== 'string') ? ['a fact without a CVE id'] : [];
}

const text = (b: Buffer) => b.toString('utf8');

/** A layer read as the scanner reads one, then laid into a file tree as the inventory does. */
async function layerThenTree(stream: Buffer): Promise<unknown> {
  const result = await readLayer(Readable.from([stream]), (e) => e.size <= 64 * 1024, {
    what: 'fuzz layer',
    scan: {
      wants: (e) => e.size > 64 * 1024,
      head: (_e, first) => first.length > 0,
      // Judged by ranges (file-parts.ts), as the binary extractors are: some files from their
      // first bytes (then copied as they stream, or dropped), the rest once whole (held).
      needs: (_e, file) => {
        const byte = file.bytes(file.size >> 1, 1)?.[0] ?? 0;
        if (file.size < file.total)
          return byte % 3 === 0 ? true : byte % 3 === 1 ? false : undefined;
        return (byte & 1) === 0;
      },
      read: async (_e, content) => content.length,
    },
  });
  const tree = FileTree.coalesce([{ digest: undefined, result }]);
  return { result, tree };
}

function layerResult(value: unknown): string[] {
  const { result } = value as { result: { entries: unknown[] } };
  return Array.isArray(result.entries) ? [] : ['entries is not an array'];
}

const layerSeeds = () => [debTar('ruby-rack'), debTar('python3-urllib3')];

const LAYER_ERRORS: readonly ErrorClass[] = [BosunError];

export const TARGETS: readonly FuzzTarget[] = [
  // ---- OS package databases
  extractorTarget(
    'dpkg-status',
    dpkgStatus,
    'var/lib/dpkg/status',
    () => [
      ...data(
        'pkgdbs/grype/test/integration/testdata/image-debian-match-coverage/var/lib/dpkg/status',
        'pkgdbs/claircore/dpkg/testdata/debian-only.status',
      ),
      ...dataFiles('pkgdbs/syft/syft/pkg/cataloger/debian/testdata/var/lib/dpkg/status.d', /./, 4),
    ],
    1000,
  ),
  extractorTarget(
    'dpkg-status-d',
    dpkgStatus,
    'var/lib/dpkg/status.d/libsqlite3-0',
    () =>
      data(
        'pkgdbs/syft/syft/pkg/cataloger/debian/testdata/image-distroless-deb/var/lib/dpkg/status.d/libsqlite3-0',
        'pkgdbs/syft/syft/pkg/cataloger/debian/testdata/var/lib/dpkg/status.d/multiple',
      ),
    500,
  ),
  extractorTarget(
    'dpkg-files',
    dpkgFiles,
    'var/lib/dpkg/info/ruby-rack.list',
    () => [
      {
        name: 'deb:ruby-rack file list (dpkg-deb -c)',
        bytes: Buffer.from(
          `${debTarList('ruby-rack')
            .map((p) => (p === '.' ? '/.' : p.replace(/^\./, '').replace(/\/$/, '')))
            .join('\n')}\n`,
        ),
      },
    ],
    500,
  ),
  extractorTarget(
    'apk-installed',
    apkInstalled,
    'lib/apk/db/installed',
    () =>
      data(
        'pkgdbs/grype/test/integration/testdata/image-alpine-match-coverage/lib/apk/db/installed',
        'pkgdbs/syft/syft/pkg/cataloger/alpine/testdata/multiple-1/lib/apk/db/installed',
        'pkgdbs/trivy/derived/alpine-310/lib/apk/db/installed',
      ),
    1000,
  ),
  extractorTarget(
    'rpm-bdb',
    rpmBdb,
    'var/lib/rpm/Packages',
    () =>
      data(
        'pkgdbs/syft/syft/pkg/cataloger/redhat/testdata/Packages',
        'pkgdbs/grype/test/integration/testdata/image-centos-match-coverage/var/lib/rpm/Packages',
        'pkgdbs/grype/test/integration/testdata/image-sles-match-coverage/var/lib/rpm/Packages',
      ),
    1000,
  ),
  extractorTarget(
    'rpm-ndb',
    rpmNdb,
    'var/lib/rpm/Packages.db',
    () => data('pkgdbs/go-rpmdb/pkg/testdata/sle15-bci/Packages.db'),
    100,
  ),
  extractorTarget(
    'rpm-sqlite',
    rpmSqlite,
    'var/lib/rpm/rpmdb.sqlite',
    () =>
      data(
        'pkgdbs/claircore/internal/rpm/sqlite/testdata/no_packages.sqlite',
        'pkgdbs/go-rpmdb/pkg/testdata/cbl-mariner-2.0/rpmdb.sqlite',
      ),
    40,
  ),
  {
    name: 'rpm-header',
    module: 'shared/extractors/os/rpm/header',
    seeds: () => data('pkgdbs/claircore/internal/rpm/rpmdb/testdata/package.header'),
    run: (input) => {
      const h = parseRpmHeader(input);
      return {
        name: h.string(TAG.NAME),
        files: h.strings(TAG.BASENAMES).length,
        dirs: h.int32s(TAG.DIRINDEXES).length,
      };
    },
    allowed: [RpmHeaderError],
    shortCases: 1000,
  },
  // ---- language packages
  extractorTarget(
    'npm-installed',
    npmInstalled,
    'app/node_modules/yaml/package.json',
    () =>
      project(
        'node_modules/yaml/package.json',
        'node_modules/semver/package.json',
        'node_modules/tar-stream/package.json',
      ),
    800,
  ),
  extractorTarget(
    'npm-lockfile',
    npmLockfile,
    'app/package-lock.json',
    () => [
      ...data('pkgdbs/osv-scanner/cmd/osv-scanner/fix/testdata/in-place-npm/package-lock.json'),
    ],
    100,
  ),
  extractorTarget(
    'python-installed',
    pythonInstalled,
    'usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO',
    () => [
      debMember(
        'python3-urllib3',
        'usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO',
      ),
    ],
    500,
  ),
  extractorTarget(
    'ruby-gemspec',
    rubyGemspec,
    'usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec',
    () => [
      debMember(
        'ruby-rack',
        'usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec',
      ),
    ],
    1000,
  ),
  extractorTarget(
    'php-composer',
    composerInstalled,
    'usr/share/zoneminder/www/vendor/composer/installed.json',
    () => [
      debMember('zoneminder', 'usr/share/zoneminder/www/vendor/composer/installed.json'),
      debMember('zoneminder', 'usr/share/zoneminder/www/api/app/vendor/composer/installed.json'),
    ],
    800,
  ),
  extractorTarget(
    'dotnet-deps',
    dotnetDeps,
    'opt/autorest/AutoRest.CSharp.deps.json',
    () => tool('dotnet/autorest-csharp/AutoRest.CSharp.deps.json'),
    300,
  ),
  extractorTarget(
    'java-archive',
    javaArchive,
    'usr/share/java/commons-lang3.jar',
    () => [debMember('libcommons-lang3-java', 'usr/share/java/commons-lang3.jar')],
    60,
  ),
  {
    name: 'zip',
    module: 'shared/zip',
    seeds: () => [debMember('libcommons-lang3-java', 'usr/share/java/commons-lang3.jar')],
    run: async (input) => {
      const zip = await ZipReader.fromBuffer(input, 'fuzz.jar');
      try {
        let n = 0;
        for await (const e of zip.entries()) {
          // Reads the manifest and every tenth entry: enough to reach inflation without
          // inflating the whole jar for every case.
          if (e.name.endsWith('MANIFEST.MF') || n % 10 === 0) await e.read();
          n++;
        }
        return n;
      } finally {
        zip.close();
      }
    },
    allowed: [BosunError],
    shortCases: 60,
  },
  // ---- binaries
  {
    name: 'elf',
    module: 'shared/extractors/binary/elf',
    seeds: () => tool('rust-auditable/bosun-auditable-app'),
    run: (input) => sections(input).length,
    allowed: [ElfError],
    shortCases: 800,
  },
  {
    // The binary extractors' `needs` reads a file still in pieces (file-parts.ts): it never
    // throws, and where the whole file's section table reads, it answers from the same names.
    name: 'elf-needs',
    module: 'shared/extractors/binary/elf (needs)',
    seeds: () => tool('rust-auditable/bosun-auditable-app'),
    run: (input) => {
      const file = new PiecedFile();
      const step = 1 + (input.length % 977);
      for (let at = 0; at < input.length; at += step) file.push(input.subarray(at, at + step));
      let names: Set<string> | undefined;
      try {
        names = new Set(sections(input).map((x) => x.name));
      } catch {
        names = undefined;
      }
      return {
        go: goBinary.needs?.(file),
        rust: rustAuditable.needs?.(file),
        expected:
          names === undefined
            ? { go: true, rust: true }
            : {
                go: names.has('.go.buildinfo') || names.has('.gopclntab'),
                rust: names.has('.dep-v0'),
              },
      };
    },
    check: (value) => {
      const r = value as { go: unknown; rust: unknown; expected: { go: boolean; rust: boolean } };
      const bad: string[] = [];
      if (r.go !== r.expected.go)
        bad.push(`go needs ${String(r.go)}, the whole file says ${r.expected.go}`);
      if (r.rust !== r.expected.rust)
        bad.push(`rust needs ${String(r.rust)}, the whole file says ${r.expected.rust}`);
      return bad;
    },
    allowed: [],
    shortCases: 800,
  },
  extractorTarget(
    'go-buildinfo',
    goBinary,
    'usr/bin/esbuild',
    () => tool('go-binaries/esbuild-linux-64_0.15.18'),
    40,
  ),
  extractorTarget(
    'rust-auditable',
    rustAuditable,
    'usr/bin/bosun-auditable-app',
    () => tool('rust-auditable/bosun-auditable-app'),
    500,
  ),
  // ---- OS release files
  {
    name: 'os-release',
    module: 'shared/extractors/os/release/detect',
    seeds: () =>
      data(
        'pkgdbs/local-debian12/etc/os-release',
        'pkgdbs/claircore/rhel/testdata/releasefiles/8/etc/os-release',
        'pkgdbs/syft/syft/linux/testdata/os/wolfi/etc/os-release',
        'pkgdbs/python-distro/tests/resources/distros/amazon2023/etc/os-release',
      ),
    run: (input) => detectOs((p) => (p === 'etc/os-release' ? input : undefined)) ?? null,
    allowed: [],
    shortCases: 1000,
  },
  {
    name: 'content-manifests',
    module: 'shared/extractors/os/release/content-manifests',
    seeds: () =>
      data(
        'pkgdbs/trivy/pkg/fanal/analyzer/buildinfo/testdata/content_manifests/ubi8-minimal-container-8.5-218.json',
      ),
    run: (input) =>
      contentSetsOf([
        { path: 'root/buildinfo/content_manifests/x.json', size: input.length, content: input },
      ]),
    allowed: [],
    shortCases: 1000,
  },
  // ---- registry and image
  {
    name: 'oci-manifest',
    module: 'shared/registry/manifest',
    seeds: () =>
      dataFiles(
        'provenance/notation/test/e2e/testdata/registry/oci_layout',
        /\/blobs\/sha256\//,
        200,
      )
        .filter((s) => /"schemaVersion"\s*:\s*2/.test(s.bytes.subarray(0, 200).toString()))
        .slice(0, 6),
    run: (input) => parseManifest(input, 'application/vnd.oci.image.manifest.v1+json'),
    check: (m) =>
      ['image', 'index'].includes((m as { kind?: string }).kind ?? '') ? [] : ['no kind'],
    allowed: [BosunError],
    shortCases: 1000,
  },
  {
    name: 'docker-manifest-and-index',
    module: 'shared/registry/manifest',
    seeds: () => [
      ...dataFiles(
        'provenance/notation/test/e2e/testdata/registry/oci_layout',
        /\/index\.json$/,
        3,
      ),
      dockerSaveMember('manifest.json'),
    ],
    run: (input) => parseManifest(input, undefined),
    allowed: [BosunError],
    shortCases: 800,
  },
  {
    name: 'image-config',
    module: 'shared/registry/manifest',
    seeds: () => [dockerSaveMember(/^[0-9a-f]{64}\.json$/)],
    run: (input) => parseImageConfig(input),
    allowed: [BosunError],
    shortCases: 800,
  },
  {
    name: 'image-reference',
    module: 'shared/registry/reference',
    // The tags `docker save` recorded for the real alpine:3.10 image.
    seeds: () =>
      (JSON.parse(dockerSaveMember('manifest.json').bytes.toString()) as { RepoTags: string[] }[])
        .flatMap((m) => m.RepoTags)
        .map((tag) => ({ name: `RepoTags of ${DOCKER_SAVE}`, bytes: Buffer.from(tag) })),
    run: (input) => parseReference(text(input)),
    allowed: [BosunError],
    shortCases: 800,
  },
  {
    name: 'docker-archive',
    module: 'shared/image/docker-archive + tar-archive',
    // trivy's real `docker save` of alpine:3.10, inflated: the tar the reader indexes.
    seeds: () => [
      {
        name: `gunzip(data:${DOCKER_SAVE})`,
        bytes: gunzip(readFileSync(`${DATA_DIR}/${DOCKER_SAVE}`)),
      },
    ],
    run: async (input) => imagesOf(new DockerArchiveSource(scratchFile(input))),
    check: imageSet,
    allowed: [BosunError],
    shortCases: 40,
  },
  {
    name: 'oci-archive',
    module: 'shared/image/oci-layout (OciArchiveSource)',
    // notation's real OCI layout (an image and its signature), as `tar -c` packs it.
    seeds: () => [
      {
        name: `tar -c data:${NOTATION_LAYOUT}`,
        bytes: execFileSync('tar', ['-c', '-C', `${DATA_DIR}/${NOTATION_LAYOUT}`, '.']),
      },
    ],
    run: async (input) => imagesOf(new OciArchiveSource(scratchFile(input))),
    check: imageSet,
    allowed: [BosunError],
    shortCases: 300,
  },
  // ---- layers
  {
    name: 'layer-tar',
    module: 'shared/layers/reader + tree',
    seeds: layerSeeds,
    run: layerThenTree,
    check: layerResult,
    allowed: LAYER_ERRORS,
    shortCases: 60,
  },
  {
    name: 'layer-gzip',
    module: 'shared/layers/reader + decompress',
    seeds: () => layerSeeds().map((s) => ({ name: `gzip(${s.name})`, bytes: gzipSync(s.bytes) })),
    run: layerThenTree,
    check: layerResult,
    allowed: LAYER_ERRORS,
    shortCases: 60,
  },
  {
    name: 'layer-tar-in-gzip',
    module: 'shared/layers/reader',
    seeds: layerSeeds,
    // The tar is mutated, then compressed: tar damage behind a valid gzip stream.
    run: (input) => layerThenTree(gzipSync(input, { level: 1 })),
    check: layerResult,
    allowed: LAYER_ERRORS,
    shortCases: 40,
  },
  {
    name: 'layer-zstd',
    module: 'shared/layers/reader + decompress',
    seeds: () => [
      ...data('advisories/claircore-fixtures/rhel/vex/testdata/server/csaf_vex_2023-10-31.tar.zst'),
      zstd(debTar('ruby-rack')),
    ],
    run: layerThenTree,
    check: layerResult,
    allowed: LAYER_ERRORS,
    shortCases: 60,
  },
  {
    name: 'layer-cache-entry',
    module: 'shared/layers/cache-format',
    // What the layer cache stores for a real layer (dpkg's tar of ruby-rack), read back.
    seeds: async () => {
      const tar = debTar('ruby-rack');
      const read = await readLayer(Readable.from([tar.bytes]), (e) => e.size < 8192, {
        what: tar.name,
      });
      return [{ name: `layer cache entry of ${tar.name}`, bytes: encodeLayerResult(read) }];
    },
    run: (input) => decodeLayerResult(input) ?? null,
    allowed: [BosunError],
    shortCases: 800,
  },
  // ---- advisories
  {
    name: 'osv',
    module: 'shared/advisories/osv',
    seeds: () => [
      ...dataFiles('advisories/rustsec-osv/crates', /\.json$/, 3),
      ...data('advisories/almalinux-osv/advisories/almalinux9/ALBA-2022:8256.json'),
    ],
    run: (input) => parseOsv(JSON.parse(text(input)), 'fuzz.json'),
    check: (r) => osvRecords([r]),
    allowed: [BosunError, SyntaxError],
    shortCases: 1000,
  },
  {
    name: 'advisory-file',
    module: 'shared/advisories/load (decodeAdvisoryBuffer, the dispatch by shape)',
    seeds: () => [
      ...dataFiles('advisories/rustsec-osv/crates', /\.json$/, 2),
      ...dataFiles('advisories/nodejs-security-wg/vuln/npm', /\.json$/, 2),
      ...dataFiles(
        'advisories/vunnel-fixtures/tests/unit/providers/rhel/test-fixtures/csaf',
        /hydra\/.*\.json$/,
        1,
      ),
      ...data('advisories/vuln-list-update-fixtures/wolfi/testdata/security.json'),
    ],
    run: (input) =>
      withIssues((issues) => {
        const bundled = new BundledImporters();
        const out = decodeAdvisoryBuffer(input, 'advisory.json', issues, bundled);
        return [...(out === 'ignored' ? [] : out), ...bundled.records()];
      }),
    check: importResult(osvRecords),
    allowed: [BosunError],
    shortCases: 800,
  },
  {
    name: 'alas-updateinfo',
    module: 'shared/advisories/importers/alas',
    seeds: () =>
      data(
        'advisories/vuln-list-update-fixtures/amazon/testdata/fixtures/updateinfo_2_items.xml.gz',
        'advisories/vuln-list-update-fixtures/amazon/testdata/fixtures/updateinfo_AL2023.xml.gz',
      ),
    run: (input) =>
      withIssues((issues) => importUpdateInfo(input, 'al2023/updateinfo.xml.gz', issues)),
    check: importResult(osvRecords),
    allowed: [BosunError],
    shortCases: 800,
  },
  {
    name: 'alas-updateinfo-xml',
    module: 'shared/advisories/importers/alas',
    // The XML behind the gzip: mutations reach the XML reader, not only the inflater.
    seeds: () =>
      data(
        'advisories/vuln-list-update-fixtures/amazon/testdata/fixtures/updateinfo_2_items.xml.gz',
      ).map((s) => ({ name: `gunzip(${s.name})`, bytes: gunzip(s.bytes) })),
    run: (input) =>
      withIssues((issues) => importUpdateInfo(input, 'al2023/updateinfo.xml', issues)),
    check: importResult(osvRecords),
    allowed: [BosunError],
    shortCases: 800,
  },
  {
    name: 'oval',
    module: 'shared/advisories/importers/oval',
    seeds: () =>
      data(
        'advisories/vunnel-fixtures/tests/unit/providers/mariner/test-fixtures/mariner-truncated-2.0-oval.xml',
        'advisories/vunnel-fixtures/tests/unit/providers/sles/test-fixtures/suse_truncated.xml',
      ),
    run: (input) => withIssues((issues) => importOval(input, 'cbl-mariner-2.0-oval.xml', issues)),
    check: importResult(osvRecords),
    allowed: [BosunError],
    shortCases: 300,
  },
  {
    name: 'oval-oracle-bzip2',
    module: 'shared/advisories/importers/oval',
    seeds: () =>
      data('advisories/vuln-list-update-fixtures/oracle/oval/testdata/all-positive-data.xml.bz2'),
    run: (input) =>
      withIssues((issues) => importOval(input, 'com.oracle.elsa-all.xml.bz2', issues)),
    check: importResult(osvRecords),
    allowed: [BosunError],
    shortCases: 100,
  },
  {
    name: 'csaf-vex',
    module: 'shared/advisories/importers/redhat-vex',
    seeds: () =>
      dataFiles(
        'advisories/vunnel-fixtures/tests/unit/providers/rhel/test-fixtures/csaf',
        /\.json$/,
        3,
      ),
    run: (input) => withIssues((issues) => importRedHatVex(text(input), 'cve.json', issues)),
    check: importResult(osvRecords),
    allowed: [BosunError],
    shortCases: 500,
  },
  {
    name: 'alpine-secdb',
    module: 'shared/advisories/importers/alpine-secdb',
    seeds: () =>
      data(
        'advisories/alpine-secdb-legacy/v3.4/community.yaml',
        'advisories/alpine-secdb-legacy/v3.5/community.yaml',
      ),
    run: (input) => {
      const importer = new AlpineSecdbImporter();
      importer.add(text(input), 'v3.5/community.yaml');
      return { value: importer.osv(), issues: importer.issues };
    },
    check: importResult(osvRecords),
    allowed: [BosunError],
    shortCases: 500,
  },
  {
    name: 'secdb-json',
    module: 'shared/advisories/importers/secdb-json',
    seeds: () =>
      data(
        'advisories/vuln-list-update-fixtures/wolfi/testdata/security.json',
        'advisories/osv-samples-misc/anchore__vunnel/tests/unit/providers/chainguard/test-fixtures/input/secdb/security.json',
      ),
    run: (input) => withIssues((issues) => importSecdbJson(text(input), 'security.json', issues)),
    check: importResult(osvRecords),
    allowed: [BosunError],
    shortCases: 800,
  },
  {
    name: 'photon',
    module: 'shared/advisories/importers/photon',
    seeds: () =>
      data(
        'advisories/vunnel-fixtures/tests/unit/providers/photon/test-fixtures/input/cve_data_photon4.0.json',
        'advisories/vuln-list-update-fixtures/photon/testdata/cve_data_photon_invalid_format.json',
      ),
    run: (input) => {
      const importer = new PhotonImporter();
      importer.add(text(input), 'cve_data_photon4.0.json');
      return { value: importer.osv(), issues: importer.issues };
    },
    check: importResult(osvRecords),
    allowed: [BosunError],
    shortCases: 500,
  },
  {
    name: 'nvd',
    module: 'shared/advisories/importers/nvd',
    seeds: () =>
      data(
        'advisories/osv-dev-vulnfeeds/vulnfeeds/conversion/nvd/testdata/test.json',
        'advisories/claircore-fixtures/enricher/cvss/testdata/feed.json',
      ),
    run: (input) => withIssues((issues) => nvdFactsOfPage(text(input), 'nvd.json', issues).facts),
    check: importResult(factList),
    allowed: [BosunError],
    shortCases: 100,
  },
  {
    name: 'kev',
    module: 'shared/advisories/importers/kev',
    seeds: () =>
      data(
        'advisories/claircore-fixtures/enricher/kev/testdata/known_exploited_vulnerabilities.json',
      ),
    run: (input) =>
      withIssues(
        (issues) => kevFacts(text(input), 'known_exploited_vulnerabilities.json', issues).facts,
      ),
    check: importResult(factList),
    allowed: [BosunError],
    shortCases: 300,
  },
  {
    name: 'kev-csv',
    module: 'shared/advisories/importers/kev',
    seeds: () => [csvHead('advisories/cisa-kev/known_exploited_vulnerabilities.csv', 40)],
    run: (input) =>
      withIssues(
        (issues) =>
          kevFactsFromCsv(text(input), 'known_exploited_vulnerabilities.csv', issues).facts,
      ),
    check: importResult(factList),
    allowed: [BosunError],
    shortCases: 500,
  },
  {
    name: 'epss',
    module: 'shared/advisories/importers/epss',
    seeds: () => data('advisories/claircore-fixtures/enricher/epss/testdata/data.csv'),
    run: (input) => withIssues((issues) => epssFacts(text(input), 'epss_scores.csv', issues).facts),
    check: importResult(factList),
    allowed: [BosunError],
    shortCases: 800,
  },
  {
    name: 'debian-tracker',
    module: 'shared/advisories/importers/debian-tracker',
    seeds: () =>
      data(
        'advisories/osv-dev-vulnfeeds/vulnfeeds/test_data/debian/debian_security_tracker_mock.json',
      ),
    run: (input) => withIssues((issues) => debianTrackerFacts(text(input), 'debian.json', issues)),
    check: importResult(factList),
    allowed: [BosunError],
    shortCases: 500,
  },
  {
    name: 'rubysec',
    module: 'shared/advisories/importers/rubysec',
    seeds: () =>
      data(
        'advisories/rubysec-ruby-advisory-db/gems/nokogiri/CVE-2012-6685.yml',
        'advisories/rubysec-ruby-advisory-db/gems/loofah/CVE-2018-8048.yml',
      ),
    run: (input) =>
      withIssues((issues) => {
        const r = importRubysec(text(input), 'gems/nokogiri/CVE-2012-6685.yml', issues);
        return r === undefined ? [] : [r];
      }),
    check: importResult(osvRecords),
    allowed: [BosunError],
    shortCases: 800,
  },
  {
    name: 'npm-legacy',
    module: 'shared/advisories/importers/npm-legacy',
    seeds: () => dataFiles('advisories/nodejs-security-wg/vuln/npm', /\.json$/, 4),
    run: (input) =>
      withIssues((issues) => {
        const r = importNpmLegacy(text(input), 'vuln/npm/441.json', issues);
        return r === undefined ? [] : [r];
      }),
    check: importResult(osvRecords),
    allowed: [BosunError],
    shortCases: 800,
  },
  {
    name: 'redhat-repository-to-cpe',
    module: 'shared/advisories/importers/redhat-repository-to-cpe',
    seeds: () =>
      data(
        'advisories/vuln-list-update-fixtures/redhat/oval/testdata/happy/repository-to-cpe.json',
      ),
    run: (input) =>
      withIssues((issues) => {
        const m = importRepositoryToCpe(input, 'repository-to-cpe.json', issues);
        return m === undefined ? [] : [...m.entries()];
      }),
    allowed: [BosunError],
    shortCases: 800,
  },
  // ---- events
  {
    name: 'ecr-event',
    module: 'shared/events/scan-request',
    seeds: () =>
      project(
        'test/fixtures/events/ecr-image-action/push.json',
        'test/fixtures/events/ecr-image-action/delete.json',
        'test/fixtures/events/ecr-image-action/push-with-media-types.json',
      ),
    run: (input) => {
      parseJsonEvent(ecrImageActionEvent, 'ECR Image Action', text(input));
      return parseScanMessage(text(input));
    },
    allowed: [BosunError],
    shortCases: 800,
  },
  {
    name: 'registry-notification',
    module: 'shared/events/registry-notification',
    seeds: () => project('test/fixtures/events/registry-notification/multi-platform-push.json'),
    run: (input) => parseRegistryNotification(text(input)),
    allowed: [BosunError],
    shortCases: 800,
  },
];

const gunzip = (b: Buffer) => gunzipSync(b);

const NOTATION_LAYOUT = 'provenance/notation/test/e2e/testdata/registry/oci_layout/e2e';

let scratch: string | undefined;
/** The image sources read paths: each case is written to one scratch file of this process. */
function scratchFile(input: Buffer): string {
  if (scratch === undefined) {
    const dir = mkdtempSync(path.join(tmpdir(), 'bosun-fuzz-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    scratch = path.join(dir, 'image.tar');
  }
  writeFileSync(scratch, input);
  return scratch;
}

/** What a scan takes from an image source: its images, and each layer's descriptor. */
async function imagesOf(source: ImageSource): Promise<ImageSet> {
  return source.images();
}

function imageSet(value: unknown): string[] {
  const set = value as ImageSet;
  if (!Array.isArray(set.images) || !Array.isArray(set.skipped)) return ['not an image set'];
  return set.images.some((i) => !Array.isArray(i.layers)) ? ['an image without layers'] : [];
}

function debTarList(pkg: string): string[] {
  return execFileSync('tar', ['-t'], { input: debTar(pkg).bytes, maxBuffer: 64 * 1024 * 1024 })
    .toString()
    .split('\n')
    .filter((l) => l !== '');
}

const DOCKER_SAVE = 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz';

/** A member of trivy's real `docker save` archive of alpine:3.10. */
function dockerSaveMember(member: string | RegExp): Seed {
  const file = `${DATA_DIR}/${DOCKER_SAVE}`;
  const names = execFileSync('tar', ['-tzf', file]).toString().split('\n');
  const name = typeof member === 'string' ? member : names.find((n) => member.test(n));
  if (name === undefined || !names.includes(name))
    throw new Error(`fuzz seed: ${String(member)} is not in ${DOCKER_SAVE}`);
  return {
    name: `data:${DOCKER_SAVE}:${name}`,
    bytes: execFileSync('tar', ['-xzOf', file, name], { maxBuffer: 64 * 1024 * 1024 }),
  };
}

/** The header and first rows of a large real CSV (the whole catalog would slow every case). */
function csvHead(relative: string, lines: number): Seed {
  const all = readFileSync(`${DATA_DIR}/${relative}`, 'utf8').split('\n');
  return {
    name: `data:${relative} (first ${lines} lines)`,
    bytes: Buffer.from(`${all.slice(0, lines).join('\n')}\n`),
  };
}
