/**
 * Java archives (`.jar`, `.war`, `.ear`): each `META-INF/maven/<groupId>/<artifactId>/pom.properties`
 * is a Maven package (a shaded jar carries several); an archive without one falls back to its
 * manifest when that names the group (`Implementation-Vendor-Id`) and version. Archives inside
 * archives (a war's WEB-INF/lib, a Spring Boot jar's BOOT-INF/lib) are read too, three levels
 * deep, each package located as `outer.war!/WEB-INF/lib/inner.jar`.
 * https://maven.apache.org/shared/maven-archiver/ (pom.properties),
 * https://docs.oracle.com/en/java/javase/21/docs/specs/jar/jar.html (the manifest)
 */
import type { ZipEntry, ZipReader } from '../../../zip.js';
import type {
  ExtractBudget,
  ExtractContext,
  ExtractedPackage,
  ExtractIssue,
  Extractor,
  ExtractResult,
} from '../../types.js';

const ID = 'language/java/archive';
const ARCHIVE = /\.(jar|war|ear)$/i;
const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;
const MAX_DEPTH = 3;
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
/**
 * What one archive, nested ones included, may inflate to, and how many entries it may have: a
 * zip can point many entries at one deflate stream (a zip bomb), and nest three deep. The
 * image's own budget (ExtractContext) bounds all its archives together: per archive alone, ten
 * bombs at this cap took 43 s and passed as complete (issue 17 #3).
 */
const MAX_INFLATED_BYTES = 512 * 1024 * 1024;
const MAX_ENTRIES = 200_000;

interface Budget {
  inflated: number;
  entries: number;
  /** Set once the image's budget refused: no archive reads on. */
  spent: boolean;
  readonly image: ExtractBudget | undefined;
}
/** An archive held whole in memory to be read (the walker's per-file read limit): larger ones are reported, not read. */
const MAX_ARCHIVE_BYTES = 64 * 1024 * 1024;

let zipReader: Promise<typeof import('../../../zip.js')> | undefined;

/** `key=value` (or `key: value`) lines of a Java properties file; comments and blanks skipped. */
function properties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const at = line.search(/[=:]/);
    if (at > 0) out.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return out;
}

/** Main attributes of a manifest: `Name: value` lines, continuation lines start with a space. */
function manifest(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break; // the main section ends at the first blank line
    if (line.startsWith(' ') && last !== undefined) {
      out.set(last, `${out.get(last) ?? ''}${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim();
    out.set(last, line.slice(colon + 1).trim());
  }
  return out;
}

async function readArchive(
  content: Buffer,
  location: string,
  depth: number,
  budget: Budget,
  packages: ExtractedPackage[],
  issues: ExtractIssue[],
): Promise<void> {
  const issue = (message: string) => issues.push({ extractor: ID, location, message });
  let zip: ZipReader;
  try {
    // Loaded on the first archive: the scan function imports every extractor at cold start,
    // and most images have no jar to read with the zip reader and yauzl (issue 18).
    zipReader ??= import('../../../zip.js');
    const { ZipReader } = await zipReader;
    zip = await ZipReader.fromBuffer(content, location, undefined, MAX_ARCHIVE_BYTES);
  } catch (error) {
    issue((error as Error).message);
    return;
  }
  const found: ExtractedPackage[] = [];
  let main: Map<string, string> | undefined;
  /** An entry's content, counted against the archive's and the image's inflation budgets. */
  const read = async (entry: ZipEntry): Promise<Buffer> => {
    budget.inflated += entry.size;
    if (budget.inflated > MAX_INFLATED_BYTES)
      throw new Error(
        `${location}: inflates to more than ${MAX_INFLATED_BYTES} bytes; not read further`,
      );
    if (budget.image !== undefined && !budget.image.inflate(entry.size)) {
      budget.spent = true;
      throw new Error(
        `${location}!/${entry.name}: not read: the image's budget of inflated bytes is spent`,
      );
    }
    return entry.read();
  };
  try {
    for await (const entry of zip.entries()) {
      if (++budget.entries > MAX_ENTRIES) {
        issue(`${location}: more than ${MAX_ENTRIES} entries; not read further`);
        break;
      }
      if (budget.inflated > MAX_INFLATED_BYTES || budget.spent) break;
      // One bad entry (a CRC error, an oversized nested jar) does not end the others.
      try {
        if (POM_PROPERTIES.test(entry.name)) {
          const p = properties((await read(entry)).toString('utf8'));
          const group = p.get('groupId');
          const artifact = p.get('artifactId');
          const version = p.get('version');
          if (group && artifact && version)
            found.push({ type: 'maven', name: `${group}:${artifact}`, version, location });
          else issue(`${location}: ${entry.name} lacks groupId, artifactId or version`);
        } else if (entry.name === 'META-INF/MANIFEST.MF') {
          main = manifest((await read(entry)).toString('utf8'));
        } else if (ARCHIVE.test(entry.name)) {
          if (depth >= MAX_DEPTH)
            issue(`${location}!/${entry.name}: nested deeper than ${MAX_DEPTH}`);
          else if (entry.size > MAX_ARCHIVE_BYTES)
            issue(
              `${location}!/${entry.name}: ${entry.size} bytes, over the ${MAX_ARCHIVE_BYTES}-byte limit`,
            );
          else
            await readArchive(
              await read(entry),
              `${location}!/${entry.name}`,
              depth + 1,
              budget,
              packages,
              issues,
            );
        }
      } catch (error) {
        issue((error as Error).message);
      }
    }
  } catch (error) {
    issue((error as Error).message);
  } finally {
    zip.close();
  }
  if (found.length === 0 && main !== undefined) {
    const group = main.get('Implementation-Vendor-Id');
    const artifact = main.get('Implementation-Title');
    const version = main.get('Implementation-Version');
    if (group && artifact && version && !/\s/.test(artifact))
      found.push({ type: 'maven', name: `${group}:${artifact}`, version, location });
  }
  packages.push(...found);
}

export const javaArchive: Extractor = {
  id: ID,
  version: 1,
  packageTypes: ['maven'],
  // Jars are many and large: read as they stream and dropped, so they never take the memory
  // that package databases need.
  streamed: true,
  required: (path, size) => size <= MAX_ARCHIVE_BYTES && ARCHIVE.test(path),
  head: (first) => first.subarray(0, 4).equals(ZIP_MAGIC),
  async extract(path: string, content: Buffer, context?: ExtractContext): Promise<ExtractResult> {
    const packages: ExtractedPackage[] = [];
    const issues: ExtractIssue[] = [];
    const budget = { inflated: 0, entries: 0, spent: false, image: context?.budget };
    await readArchive(content, path, 0, budget, packages, issues);
    return { packages, issues };
  },
};
