/**
 * An image's inventory: the packages its final filesystem has installed, each with the layer
 * that introduced it, where it was found, its PURL and, for OS packages, the OSV ecosystem of
 * the image's distribution. Layers are read once (cached by diff id and extractor set); package
 * databases are extracted per layer, so that a package is attributed to the lowest layer from
 * which it stays installed, as Trivy and Inspector report it.
 */

import { languageEcosystemOf, OS_PACKAGE_TYPES, osFamilyOf } from '../ecosystems.js';
import type { BosunError } from '../errors.js';
import {
  CONTENT_MANIFEST_DIR,
  contentManifestWants,
  contentSetsOf,
  isContentManifestPath,
  MAX_CONTENT_MANIFEST_BYTES,
  MAX_CONTENT_MANIFESTS,
} from '../extractors/os/release/content-manifests.js';
import { detectOs, OS_FILES, type OsInfo } from '../extractors/os/release/detect.js';
import { EXTRACTORS } from '../extractors/registry.js';
import type {
  ExtractContext,
  ExtractedPackage,
  ExtractIssue,
  Extractor,
  ExtractResult,
} from '../extractors/types.js';
import type { Image } from '../image/types.js';
import { ImageBudget } from '../layers/budget.js';
import { FileTooLargeError } from '../layers/errors.js';
import { DEFAULT_LIMITS, IMAGE_BUDGET_LIMITS, type LayerLimits } from '../layers/limits.js';
import { HEAD_BYTES, type LayerEntry } from '../layers/reader.js';
import { readerId } from '../layers/reader-id.js';
import type { FileTree } from '../layers/tree.js';
import type { InventoryPackage as MatchablePackage } from './package.js';
import { distroQualifier, purl } from './purl.js';
import { type ImageWalk, type LayerCache, type LayerCollector, walkImage } from './walk.js';

export interface InventoryPackage extends ExtractedPackage {
  readonly purl: string;
  /** OSV ecosystem for matching: the distro's for OS packages (`Debian:12`). */
  readonly ecosystem?: string;
  /** Further advisory ecosystems an OS package is matched against (shared/ecosystems.ts). */
  readonly extraEcosystems?: readonly string[];
  /** Diff id of the layer that introduced this package. */
  readonly layer?: string;
  /** For a language package: the OS package whose files include it (its metadata file). */
  readonly osOwnedBy?: string;
}

export interface Inventory {
  readonly os?: OsInfo;
  readonly packages: InventoryPackage[];
  readonly issues: (ExtractIssue | { readonly location: string; readonly message: string })[];
  /** False when a layer could not be read: the inventory may miss packages. */
  readonly complete: boolean;
  /** Why layers could not be read (a bad layer, or a registry that failed mid-transfer). */
  readonly layerErrors: readonly BosunError[];
}

/** Whether a streamed extractor wants this file: by its path, size and mode, then its first bytes. */
function wantsStreamed(x: Extractor, e: LayerEntry, first: Buffer): boolean {
  return x.required(e.path, e.size, e.mode) && (x.head?.(first) ?? true);
}

/**
 * One extractor over one file, isolated: whatever it throws (a RangeError on a corrupt
 * database, issue 17 #2) becomes an issue naming the file and the extractor, and the rest of
 * the image is still inventoried.
 */
async function extractSafely(
  x: Extractor,
  path: string,
  content: Buffer,
  context: ExtractContext,
): Promise<ExtractResult> {
  try {
    return await x.extract(path, content, context);
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return {
      packages: [],
      issues: [{ extractor: x.id, location: path, message: `${path}: ${x.id} failed: ${message}` }],
    };
  }
}

const key = (p: ExtractedPackage) =>
  `${p.type}\u0000${p.location}\u0000${p.name}\u0000${p.version}\u0000${p.arch ?? ''}`;

const EPOCH = /^(\d+):(.+)$/;

/**
 * The PURL of a package. deb and rpm versions carry their epoch as the `epoch` qualifier, as
 * the PURL types specify and Trivy writes them.
 */
const NAMESPACED_BY_PATH = new Set(['npm', 'composer', 'golang']);

function packagePurl(p: ExtractedPackage, os: OsInfo | undefined): string {
  const epoch = p.type === 'deb' || p.type === 'rpm' ? EPOCH.exec(p.version) : null;
  // The PURL namespace: a Maven package's groupId (`groupId:artifactId`), an npm scope, a
  // Composer vendor (`firebase/php-jwt`), a Go module's path up to its last element
  // (`pkg:golang/golang.org/x/sys@…`).
  const cut =
    p.type === 'maven'
      ? p.name.indexOf(':')
      : NAMESPACED_BY_PATH.has(p.type)
        ? p.name.lastIndexOf('/')
        : -1;
  return purl({
    type: languageEcosystemOf(p.type)?.purlType ?? p.type,
    ...(os !== undefined ? { namespace: os.family } : {}),
    ...(cut > 0
      ? { namespace: p.name.slice(0, cut), name: p.name.slice(cut + 1) }
      : { name: p.name }),
    version: epoch === null ? p.version : (epoch[2] as string),
    qualifiers: {
      arch: p.arch,
      ...(epoch === null ? {} : { epoch: epoch[1] }),
      ...(os !== undefined ? { distro: distroQualifier(os.family, os.versionId) } : {}),
    },
  });
}

/**
 * The per-layer cache key's reader part: everything that changes what a layer yields — the
 * extractors at their versions, the OS files kept for detection, and the reader's limits (a
 * file over a limit is an issue instead of packages). Trivy hashes analyzer versions and
 * walker options into its key the same way (pkg/cache/key.go).
 */
export function inventoryReaderId(
  extractors: readonly Extractor[] = EXTRACTORS,
  limits: Partial<LayerLimits> = {},
  collector?: string,
): string {
  const effective: Record<string, number> = { ...DEFAULT_LIMITS, ...limits };
  // The image's budgets do not change what a layer yields: a layer they cut short is never
  // cached (walk.ts).
  for (const k of IMAGE_BUDGET_LIMITS) delete effective[k];
  return readerId(extractors, {
    osFiles: [...OS_FILES].sort().join(','),
    contentManifests: `${CONTENT_MANIFEST_DIR}:${MAX_CONTENT_MANIFEST_BYTES}:${MAX_CONTENT_MANIFESTS}`,
    limits: Object.keys(effective)
      .sort()
      .map((k) => `${k}:${effective[k]}`)
      .join(','),
    // Readers before this judged a scanned file on whatever chunk it began with, and could
    // take a Go binary whose ELF magic a chunk boundary cut for no executable: their cached
    // layers are read again.
    scanHead: String(HEAD_BYTES),
    ...(collector === undefined ? {} : { collect: collector }),
  });
}

/**
 * The OS with the content sets its Red Hat content manifests name (any family: which of them
 * matter is redhat-repositories.ts's to decide); unreadable manifests are issues.
 */
function withContentSets(
  os: OsInfo | undefined,
  tree: FileTree,
  issues: Inventory['issues'],
): OsInfo | undefined {
  const manifests = [];
  for (const entry of tree.entries())
    if (entry.type === 'file' && isContentManifestPath(entry.path))
      manifests.push({
        path: entry.path,
        size: entry.size,
        ...(entry.content === undefined ? {} : { content: entry.content }),
      });
  if (manifests.length === 0) return os;
  const read = contentSetsOf(manifests);
  issues.push(...read.issues);
  return os === undefined || read.contentSets.length === 0
    ? os
    : { ...os, contentSets: read.contentSets };
}

export interface InventoryOptions {
  readonly extractors?: readonly Extractor[];
  readonly cache?: LayerCache;
  readonly limits?: Partial<LayerLimits>;
  /** Keep a lockfile's development dependencies (left out by default: not installed). */
  readonly devDependencies?: boolean;
  /** Facts of each layer for the hardening checks, made in the same walk (walk.ts). */
  readonly collect?: LayerCollector;
}

/**
 * Installed, not declared: a lockfile's package stands only for a project with no installed
 * tree beside it (a source checkout); where `node_modules` exists, what is installed is the
 * truth (a later layer may have removed a package, `npm ci --omit=dev` skipped the development
 * ones). Trivy and Syft read lockfiles only for source trees for the same reason.
 */
function declaredStands(
  p: InventoryPackage,
  installed: (project: string) => boolean,
  devDependencies: boolean,
): boolean {
  if (p.declared !== true) return true;
  if (p.dev === true && !devDependencies) return false;
  // `<lockfile>#<install path>`: install paths never hold `#`, directory names may.
  const lockfile = p.location.slice(0, p.location.lastIndexOf('#'));
  return !installed(lockfile.includes('/') ? lockfile.slice(0, lockfile.lastIndexOf('/')) : '');
}

/** Whether a project folder has an installed `node_modules` tree, looked up once per folder. */
function installedTrees(tree: FileTree): (project: string) => boolean {
  const known = new Map<string, boolean>();
  return (project) => {
    let has = known.get(project);
    if (has === undefined) {
      has = tree.exists(project === '' ? 'node_modules' : `${project}/node_modules`);
      known.set(project, has);
    }
    return has;
  };
}

export async function buildInventory(
  image: Image,
  options: InventoryOptions = {},
): Promise<Inventory> {
  return (await inventoryAndWalk(image, options)).inventory;
}

/**
 * The inventory and the walk it was made from: its layers' entries (with their modes),
 * whiteouts and collected facts, and the final file tree, for the checks (shared/checks).
 */
export async function inventoryAndWalk(
  image: Image,
  options: InventoryOptions = {},
): Promise<{ readonly inventory: Inventory; readonly walk: ImageWalk }> {
  const extractors = options.extractors ?? EXTRACTORS;
  const osFiles = new Set<string>(OS_FILES);
  const kept = extractors.filter((x) => x.streamed !== true);
  const streamed = extractors.filter((x) => x.streamed === true);
  const budget = new ImageBudget(options.limits);
  const context: ExtractContext = { budget };
  const walk = await walkImage(
    image,
    (e) => osFiles.has(e.path) || kept.some((x) => x.required(e.path, e.size, e.mode)),
    {
      // Executables are many and large: each is extracted as it streams, and only its packages
      // are kept (per path, in the layer result).
      ...(streamed.length === 0
        ? {}
        : {
            scan: {
              wants: (e) => streamed.some((x) => x.required(e.path, e.size, e.mode)),
              head: (e, first) => streamed.some((x) => wantsStreamed(x, e, first)),
              needs: (e, file) => {
                const first = file.bytes(0, Math.min(file.size, HEAD_BYTES)) ?? Buffer.alloc(0);
                let undecided = false;
                for (const x of streamed) {
                  if (!wantsStreamed(x, e, first)) continue;
                  const needs = x.needs === undefined ? true : x.needs(file);
                  if (needs === true) return true;
                  undecided ||= needs === undefined;
                }
                return undecided ? undefined : false;
              },
              read: async (e, content) => {
                const results: ExtractResult[] = [];
                for (const x of streamed)
                  if (wantsStreamed(x, e, content))
                    results.push(await extractSafely(x, e.path, content, context));
                return results.some((r) => r.packages.length > 0 || r.issues.length > 0)
                  ? results
                  : undefined;
              },
            },
          }),
      layerWants: contentManifestWants,
      budget,
      reader: inventoryReaderId(extractors, options.limits, options.collect?.id),
      ...(options.cache === undefined ? {} : { cache: options.cache }),
      ...(options.collect === undefined ? {} : { collect: options.collect }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    },
  );
  const issues: Inventory['issues'] = [];
  // A package database that was not read (over a size limit) would make every package in it
  // look removed: the inventory is then incomplete, not silently short.
  let unreadDatabase = false;
  for (const layer of walk.layers) {
    if (layer.error !== undefined)
      issues.push({
        location: `layer ${layer.index}`,
        message:
          layer.result === undefined
            ? layer.error.message
            : `read in part, what was read is kept: ${layer.error.message}`,
      });
    for (const i of layer.result?.issues ?? []) {
      const database =
        i instanceof FileTooLargeError &&
        kept.some((x) => x.osDatabase === true && x.required(i.path, 0));
      unreadDatabase ||= database;
      issues.push(
        database
          ? {
              location: `layer ${layer.index}`,
              message: `package database ${i.path} was not read: ${i.message}`,
            }
          : { location: i.path, message: i.message },
      );
    }
  }
  for (const i of walk.tree.issues) issues.push({ location: i.path, message: i.message });
  // A budget spent with no layer to blame (all were read whole before it ran out): still said.
  if (budget.exceeded !== undefined && walk.layers.every((l) => l.error === undefined))
    issues.push({ location: 'image', message: budget.exceeded.message });

  // Each database file is extracted once per layer that has a version of it. Walking the layers
  // upwards gives each package the lowest layer from which it stays present; the results of
  // the layer that wrote the final version are reused for the inventory itself.
  const extracted = new Map<string, ExtractResult[]>();
  const introducedByPath = new Map<string, Map<string, string | undefined>>();
  for (const layer of walk.layers) {
    for (const [path, content] of layer.result?.contents ?? []) {
      const results: ExtractResult[] = [];
      for (const extractor of kept) {
        if (extractor.required(path, content.length))
          results.push(await extractSafely(extractor, path, content, context));
      }
      if (results.length === 0) continue;
      extracted.set(`${layer.index}\u0000${path}`, results);
      const before = introducedByPath.get(path);
      const now = new Map<string, string | undefined>();
      for (const k of results.flatMap((r) => r.packages.map(key)))
        now.set(k, before?.has(k) ? before.get(k) : (layer.diffId ?? layer.digest));
      introducedByPath.set(path, now);
    }
  }

  const os = withContentSets(
    detectOs((path) => {
      try {
        return walk.tree.read(path);
      } catch {
        return undefined;
      }
    }),
    walk.tree,
    issues,
  );
  const packages: InventoryPackage[] = [];
  const seen = new Set<string>();
  // file -> the OS package that owns it (dpkg's info/*.list, apk's file lists)
  const ownerOf = new Map<string, string>();
  for (const entry of walk.tree.entries()) {
    if (entry.type !== 'file') continue;
    const scanned = walk.layers[entry.layer]?.result?.facts?.get(entry.path) as
      | ExtractResult[]
      | undefined;
    if (entry.content === undefined && scanned === undefined) continue;
    // A hard link's content comes from its target, possibly in another layer: extract it here.
    let results =
      entry.linkname === undefined ? extracted.get(`${entry.layer}\u0000${entry.path}`) : undefined;
    if (results === undefined && entry.content !== undefined) {
      results = [];
      for (const extractor of kept) {
        if (extractor.required(entry.path, entry.size))
          results.push(await extractSafely(extractor, entry.path, entry.content, context));
      }
    }
    results = [...(results ?? []), ...(scanned ?? [])];
    // The lowest layer a database's package stays present from; streamed files are attributed
    // to the layer that holds their final version.
    const introduced = introducedByPath.get(entry.path);
    const layerOf = (k: string) =>
      introduced?.get(k) ?? (scanned === undefined ? undefined : entry.layerDigest);
    for (const result of results) {
      issues.push(...result.issues);
      for (const { owner, files } of result.owners ?? [])
        for (const file of files) ownerOf.set(file, owner);
      for (const p of result.packages) {
        const k = key(p);
        if (seen.has(k)) continue;
        seen.add(k);
        const family = os === undefined ? undefined : osFamilyOf(os.family);
        const isOsPackage = family !== undefined && family.packageType === p.type;
        const language = languageEcosystemOf(p.type);
        packages.push({
          ...p,
          purl: packagePurl(p, isOsPackage ? os : undefined),
          ...(isOsPackage && os?.ecosystem !== undefined
            ? {
                ecosystem: os.ecosystem,
                ...(os.extraEcosystems === undefined
                  ? {}
                  : { extraEcosystems: os.extraEcosystems }),
              }
            : language === undefined
              ? {}
              : { ecosystem: language.ecosystem }),
          ...(layerOf(k) === undefined ? {} : { layer: layerOf(k) }),
        });
      }
    }
  }
  for (const p of packages)
    if (OS_PACKAGE_TYPES.has(p.type)) for (const file of p.files ?? []) ownerOf.set(file, p.name);
  // A language package whose metadata file (or its directory: a dist-info, a node module) an OS
  // package installed is the distribution's, patched by it: the matcher treats it so.
  const installed = installedTrees(walk.tree);
  const owned = packages
    .filter((p) => declaredStands(p, installed, options.devDependencies ?? false))
    .map((p) => {
      if (OS_PACKAGE_TYPES.has(p.type)) return p;
      // Databases list the metadata file itself; a Python distribution's directory also names it.
      const dir = p.location.replace(/\/[^/]+$/, '');
      const owner =
        ownerOf.get(p.location) ?? (/\.(dist|egg)-info$/.test(dir) ? ownerOf.get(dir) : undefined);
      return owner === undefined ? p : { ...p, osOwnedBy: owner };
    });
  const inventory: Inventory = {
    ...(os === undefined ? {} : { os }),
    packages: owned,
    issues,
    complete: walk.complete && budget.exceeded === undefined && !unreadDatabase,
    layerErrors: walk.layers.flatMap((l) => (l.error === undefined ? [] : [l.error])),
  };
  return { inventory, walk };
}

/** The packages the matcher can look up (those with an OSV ecosystem), in its terms. */
export function matchablePackages(inventory: Inventory): MatchablePackage[] {
  return inventory.packages.flatMap((p) =>
    p.ecosystem === undefined
      ? []
      : [
          {
            name: p.name,
            version: p.version,
            ecosystem: p.ecosystem,
            ...(p.extraEcosystems === undefined ? {} : { extraEcosystems: p.extraEcosystems }),
            purl: p.purl,
            location: p.location,
            ...(p.sourceName === undefined ? {} : { sourceName: p.sourceName }),
            ...(p.sourceVersion === undefined ? {} : { sourceVersion: p.sourceVersion }),
            ...(p.layer === undefined ? {} : { layer: p.layer }),
            ...(p.osOwnedBy === undefined ? {} : { osOwnedBy: p.osOwnedBy }),
            ...(p.symbols === undefined ? {} : { symbols: p.symbols }),
          },
        ],
  );
}
