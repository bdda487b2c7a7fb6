import type { z } from 'zod';
import { BosunError } from '../../errors.js';
import { describeIssues } from '../../zod-issues.js';
import { InvalidAdvisoryError, type OsvRecord, parseOsv } from '../osv.js';
import { parseYaml } from '../yaml.js';

/**
 * A feed file that cannot be read at all (not of its format, too large): the file is one issue
 * and yields nothing, the rest of the feed goes on. Each format names its own subclass.
 */
export class UnreadableFeedFileError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly source: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${message}`, options);
  }
}

export interface ImportIssue {
  readonly source: string;
  readonly message: string;
}

/**
 * A feed file as its text, or as the document already decoded from it: the advisory loader
 * decodes a file once to tell its format, and the importer takes that document as it is (YAML
 * costs about as much to parse as everything else an import does).
 */
export type FeedInput = string | { readonly doc: unknown };

/**
 * Decodes one feed file (JSON or YAML) and validates it; a file that is not readable or not of
 * the expected shape becomes an issue naming the file and the field, and undefined.
 */
export function decodeFeedFile<T extends z.ZodType>(
  input: FeedInput,
  format: 'JSON' | 'YAML',
  schema: T,
  kind: string,
  source: string,
  issues: ImportIssue[],
): z.output<T> | undefined {
  let doc: unknown;
  try {
    doc =
      typeof input !== 'string'
        ? input.doc
        : format === 'JSON'
          ? JSON.parse(input)
          : parseYaml(input);
  } catch (error) {
    issues.push({ source, message: `${source}: not ${format}: ${(error as Error).message}` });
    return undefined;
  }
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    issues.push({
      source,
      message: `${source}: not ${kind}: ${describeIssues(parsed.error).join('; ')}`,
    });
    return undefined;
  }
  return parsed.data;
}

/**
 * Adds a converted record to `records` once it passes the OSV schema (`parseOsv`); a record an
 * importer built that the schema refuses is an issue, never a crash.
 */
export function pushValid(
  records: OsvRecord[],
  record: unknown,
  source: string,
  issues: ImportIssue[],
  label = source,
): void {
  try {
    records.push(parseOsv(record, label));
  } catch (error) {
    if (!(error instanceof InvalidAdvisoryError)) throw error;
    issues.push({ source, message: error.message });
  }
}
