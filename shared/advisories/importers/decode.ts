import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { describeIssues } from '../../zod-issues.js';

export interface ImportIssue {
  readonly source: string;
  readonly message: string;
}

/**
 * Decodes one feed file (JSON or YAML) and validates it; a file that is not readable or not of
 * the expected shape becomes an issue naming the file and the field, and undefined.
 */
export function decodeFeedFile<T extends z.ZodType>(
  text: string,
  format: 'JSON' | 'YAML',
  schema: T,
  kind: string,
  source: string,
  issues: ImportIssue[],
): z.output<T> | undefined {
  let doc: unknown;
  try {
    doc = format === 'JSON' ? JSON.parse(text) : parseYaml(text);
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
