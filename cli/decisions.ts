/**
 * The decisions `bosun scan` applies (docs/vex.md): VEX documents (`--vex FILE`, repeatable)
 * and the ignore file (`--ignore-file FILE`, else `.bosunignore` in the current directory when
 * there is one). A finding they cover is not dropped: it is listed apart as suppressed, with
 * the reason, in every output, and no gate fails on it.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Finding } from '../shared/matcher/types.js';
import { vexReason, vexStatementFor, vexSuppresses } from '../shared/vex/apply.js';
import { parseVex } from '../shared/vex/parse.js';
import { InvalidVexError, type VexStatement } from '../shared/vex/types.js';
import { type IgnoreFile, ignoredBy, readIgnoreFile } from './ignore.js';
import { UsageError } from './options.js';

export const IGNORE_FILE = '.bosunignore';

export interface Decisions {
  readonly vex: readonly VexStatement[];
  readonly ignore?: IgnoreFile;
  /** What to say on every run: expired ignore entries, VEX parts left out. */
  readonly notes: readonly string[];
}

export interface SuppressedFinding {
  readonly finding: Finding;
  readonly reason: string;
  /** When a VEX statement decided: what it said. */
  readonly vexStatus?: 'not_affected' | 'fixed';
}

/** Reads the VEX documents and the ignore file a scan names (or finds); usage errors name the file. */
export function loadDecisions(
  vexFiles: readonly string[],
  ignoreFile: string | undefined,
  today: string,
): Decisions {
  const notes: string[] = [];
  const vex = vexFiles.flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read VEX document ${file}: ${(error as Error).message}`);
    }
    try {
      const doc = parseVex(text);
      for (const issue of doc.issues) notes.push(`${file}: ${issue}`);
      return [...doc.statements];
    } catch (error) {
      if (error instanceof InvalidVexError) throw new UsageError(`${file}: ${error.message}`);
      throw error;
    }
  });
  const path = ignoreFile ?? (existsSync(IGNORE_FILE) ? IGNORE_FILE : undefined);
  const ignore = path === undefined ? undefined : readIgnoreFile(path, today);
  for (const e of ignore?.expired ?? [])
    notes.push(`${e.where}: ${e.id} expired on ${e.expires}; not applied`);
  return { vex, ...(ignore === undefined ? {} : { ignore }), notes };
}

/**
 * The findings the decisions leave, and those they suppress with the reason: an ignore entry
 * first (the project's own decision), then the latest VEX statement that says not affected or
 * fixed for the image (its manifest or index digest, under the repository the reference names).
 */
export function applyDecisions(
  findings: readonly Finding[],
  decisions: Decisions,
  image: { readonly digests: readonly string[]; readonly repositories: readonly string[] },
): { kept: Finding[]; suppressed: SuppressedFinding[] } {
  const kept: Finding[] = [];
  const suppressed: SuppressedFinding[] = [];
  for (const f of findings) {
    const ids = [f.id, ...f.ids];
    const entry =
      decisions.ignore === undefined ? undefined : ignoredBy(decisions.ignore, ids, f.package.purl);
    if (entry !== undefined) {
      suppressed.push({
        finding: f,
        reason: `ignored: ${entry.reason ?? 'no reason given'} (${entry.where})`,
      });
      continue;
    }
    const target = { vulnerabilityId: f.id, ids: f.ids, purl: f.package.purl };
    // A folder or archive has no digest: then only statements about packages can apply.
    const statement = (image.digests.length === 0 ? [''] : image.digests)
      .map((digest) =>
        vexStatementFor(decisions.vex, target, { digest, repositories: image.repositories }),
      )
      .find((s) => s !== undefined);
    if (statement !== undefined && vexSuppresses(statement))
      suppressed.push({
        finding: f,
        reason: vexReason(statement),
        vexStatus: statement.status === 'fixed' ? 'fixed' : 'not_affected',
      });
    else kept.push(f);
  }
  return { kept, suppressed };
}
