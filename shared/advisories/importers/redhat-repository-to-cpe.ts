/**
 * Red Hat's repository-to-CPE mapping
 * (https://security.access.redhat.com/data/meta/v1/repository-to-cpe.json): for each content
 * set (repository id, as an image's content manifest names it: `rhel-8-for-x86_64-baseos-rpms`)
 * the CPEs of the product streams its packages belong to. Red Hat's advisories name those
 * streams, so an RPM from a content set is matched against the advisories of its CPEs
 * (https://www.redhat.com/en/blog/how-accurately-match-oval-security-data-installed-rpms).
 *
 * File shape: `{"data": {"<repo id>": {"cpes": ["cpe:/o:redhat:enterprise_linux:8::baseos"],
 * "repo_relative_urls": [...]}}, "last_updated": "..."}`. A repository entry that is not of that
 * shape is an issue naming it, and is left out; a file that is not that object at all is one
 * issue and no mapping.
 */
import * as z from 'zod';
import { describeIssues } from '../../zod-issues.js';
import type { ImportIssue } from './decode.js';

/** The name of the file, in a folder of advisories and wherever Red Hat publishes it. */
export const REPOSITORY_TO_CPE_FILE = 'repository-to-cpe.json';

/** Repository id → the CPEs of its product streams (sorted, without repeats). */
export type RepositoryCpes = ReadonlyMap<string, readonly string[]>;

/** The whole file is 2.8 MB for 10,106 repositories (2025); far more is not this file. */
export const MAX_REPOSITORY_TO_CPE_BYTES = 64 * 1024 * 1024;
/** Bounds on what one file may hold (today's most is 30 CPEs for one repository). */
export const MAX_REPOSITORIES = 200_000;
export const MAX_CPES_PER_REPOSITORY = 256;

// CPE 2.2 URI binding (https://cpe.mitre.org/files/cpe-specification_2.2.pdf, 6.1):
// `cpe:/<part>:<vendor>:<product>:<version>:<update>:<edition>:<language>`, trailing parts left out.
const CPE_URI = /^cpe:\/[aho](?::[A-Za-z0-9._\-~%+]*){1,6}$/;
// Repository ids are labels such as `rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_4`.
const REPOSITORY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/;

const file = z.object({
  data: z.record(z.string(), z.unknown()),
  last_updated: z.string().optional(),
});

const repository = z.object({
  cpes: z
    .array(z.string().regex(CPE_URI, 'a CPE 2.2 URI such as cpe:/o:redhat:enterprise_linux:9'))
    .min(1)
    .max(MAX_CPES_PER_REPOSITORY),
  repo_relative_urls: z.array(z.string()).optional(),
});

/**
 * Reads the mapping. Returns undefined (and one issue) when the file is not the mapping at all;
 * otherwise every well-formed repository, an issue for each other one.
 */
export function importRepositoryToCpe(
  content: Buffer | string,
  source: string,
  issues: ImportIssue[],
): Map<string, string[]> | undefined {
  if (content.length > MAX_REPOSITORY_TO_CPE_BYTES) {
    issues.push({
      source,
      message: `${source}: ${content.length} bytes, over the ${MAX_REPOSITORY_TO_CPE_BYTES}-byte limit of a repository-to-CPE mapping`,
    });
    return undefined;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(typeof content === 'string' ? content : content.toString('utf8'));
  } catch (error) {
    issues.push({ source, message: `${source}: not JSON: ${(error as Error).message}` });
    return undefined;
  }
  const parsed = file.safeParse(doc);
  if (!parsed.success) {
    issues.push({
      source,
      message: `${source}: not a repository-to-CPE mapping: ${describeIssues(parsed.error).join('; ')}`,
    });
    return undefined;
  }
  const ids = Object.keys(parsed.data.data);
  if (ids.length > MAX_REPOSITORIES) {
    issues.push({
      source,
      message: `${source}: ${ids.length} repositories, over the limit of ${MAX_REPOSITORIES}`,
    });
    return undefined;
  }
  const out = new Map<string, string[]>();
  for (const id of ids.sort()) {
    if (!REPOSITORY_ID.test(id)) {
      issues.push({
        source,
        message: `${source}: repository id ${JSON.stringify(id.slice(0, 300))} is not a repository label; left out`,
      });
      continue;
    }
    const entry = repository.safeParse(parsed.data.data[id]);
    if (!entry.success) {
      issues.push({
        source,
        message: `${source}: repository ${id}: ${describeIssues(entry.error).join('; ')}; left out`,
      });
      continue;
    }
    out.set(id, [...new Set(entry.data.cpes)].sort());
  }
  return out;
}

/**
 * The OSV ecosystem of a Red Hat CPE: the CPE without `cpe:/[oa]:redhat:`, after `Red Hat:`
 * (https://ossf.github.io/osv-schema/#defined-ecosystems: `Red Hat:rhel_aus:8.4::appstream`
 * for `cpe:/a:redhat:rhel_aus:8.4::appstream`). Undefined for a CPE of another vendor (a few
 * old repositories name `cpe:/a:cloudforms_tools:1::el5`): no Red Hat advisory names it.
 */
export function redHatEcosystemOfCpe(cpe: string): string | undefined {
  const m = /^cpe:\/[oa]:redhat:(.+)$/.exec(cpe);
  return m === null ? undefined : `Red Hat:${m[1]}`;
}
