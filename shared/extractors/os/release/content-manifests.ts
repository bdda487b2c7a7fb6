/**
 * Red Hat's image content manifests: every RHEL and UBI image built by Red Hat's build system
 * carries `/root/buildinfo/content_manifests/<component>.json` (one per layer it built), whose
 * `content_sets` name the repositories its RPMs were installed from
 * (schema: https://github.com/containerbuildsystem/atomic-reactor/blob/master/atomic_reactor/schemas/content_manifest.json).
 * A repository (`rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_4`) says which product stream the
 * packages belong to, and so which of Red Hat's per-repository advisory ecosystems apply
 * (inventory/redhat-repositories.ts). Trivy (analyzer/buildinfo) and Syft (internal/os) read
 * the same files.
 */
import * as z from 'zod';
import { describeIssues } from '../../../zod-issues.js';

export const CONTENT_MANIFEST_DIR = 'root/buildinfo/content_manifests';

/** Real manifests are under 1 KB (a few list every dependency's purl): far more is not one. */
export const MAX_CONTENT_MANIFEST_BYTES = 4 * 1024 * 1024;
/** A layer has one; an image one per layer its builds added. */
export const MAX_CONTENT_MANIFESTS = 64;
/** Content sets an image's manifests may name together (real ones name 2 to 10). */
export const MAX_CONTENT_SETS = 256;

/**
 * What a layer reader keeps of the manifests folder: each manifest up to the size limit, the
 * first MAX_CONTENT_MANIFESTS of a layer (a fresh predicate per layer, so it can count).
 */
export function contentManifestWants(): (entry: { path: string; size: number }) => boolean {
  let kept = 0;
  return (entry) => {
    if (!isContentManifestPath(entry.path) || entry.size > MAX_CONTENT_MANIFEST_BYTES) return false;
    kept++;
    return kept <= MAX_CONTENT_MANIFESTS;
  };
}

/** Whether a path is a content manifest: a `.json` file directly in the manifests folder. */
export function isContentManifestPath(path: string): boolean {
  return (
    path.startsWith(`${CONTENT_MANIFEST_DIR}/`) &&
    path.endsWith('.json') &&
    !path.slice(CONTENT_MANIFEST_DIR.length + 1).includes('/')
  );
}

// `content_sets` is optional in the schema (manifests of images built from no repository).
const manifest = z.object({
  content_sets: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/)).optional(),
});

/** A manifest file of the image; no content when it was left unread (over a limit). */
export interface ContentManifestFile {
  readonly path: string;
  readonly size: number;
  readonly content?: Buffer;
}

export interface ContentManifestIssue {
  readonly location: string;
  readonly message: string;
}

/**
 * The content sets the manifests name, sorted and without repeats, and an issue for each
 * manifest that could not be read (not JSON, not of the schema's shape, or left unread).
 */
export function contentSetsOf(manifests: readonly ContentManifestFile[]): {
  contentSets: string[];
  issues: ContentManifestIssue[];
} {
  const sets = new Set<string>();
  const issues: ContentManifestIssue[] = [];
  const sorted = [...manifests].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  let read = 0;
  let skipped = 0;
  for (const { path, size, content } of sorted) {
    if (content === undefined) {
      issues.push({
        location: path,
        message:
          size > MAX_CONTENT_MANIFEST_BYTES
            ? `content manifest ${path} was not read: ${size} bytes, over the limit of ${MAX_CONTENT_MANIFEST_BYTES}`
            : `content manifest ${path} was not read: its layer has more than ${MAX_CONTENT_MANIFESTS} content manifests`,
      });
      continue;
    }
    // Layers each keep up to the limit; the image's manifests together are held to it too.
    if (read >= MAX_CONTENT_MANIFESTS) {
      skipped++;
      continue;
    }
    read++;
    let doc: unknown;
    try {
      doc = JSON.parse(content.toString('utf8'));
    } catch (error) {
      issues.push({
        location: path,
        message: `content manifest ${path} is not JSON: ${(error as Error).message}`,
      });
      continue;
    }
    const parsed = manifest.safeParse(doc);
    if (!parsed.success) {
      issues.push({
        location: path,
        message: `content manifest ${path} is not of the content manifest schema: ${describeIssues(parsed.error).join('; ')}`,
      });
      continue;
    }
    for (const set of parsed.data.content_sets ?? []) sets.add(set);
  }
  if (skipped > 0)
    issues.push({
      location: CONTENT_MANIFEST_DIR,
      message: `${read + skipped} content manifests, over the limit of ${MAX_CONTENT_MANIFESTS}: the ${skipped} last by name were not read`,
    });
  const contentSets = [...sets].sort();
  if (contentSets.length > MAX_CONTENT_SETS) {
    issues.push({
      location: CONTENT_MANIFEST_DIR,
      message: `the content manifests name ${contentSets.length} content sets, over the limit of ${MAX_CONTENT_SETS}: none is used`,
    });
    return { contentSets: [], issues };
  }
  return { contentSets, issues };
}
