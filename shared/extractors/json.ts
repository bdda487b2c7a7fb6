import type { ExtractIssue } from './types.js';

/**
 * A JSON metadata file parsed, or the issue that says why it could not be: the language
 * extractors that read JSON (npm, Composer, .NET) report a broken file the same way and go on.
 */
export function parseJsonFile(
  extractor: string,
  path: string,
  content: Buffer,
): { readonly value: unknown } | { readonly issue: ExtractIssue } {
  try {
    return { value: JSON.parse(content.toString('utf8')) };
  } catch (error) {
    return {
      issue: {
        extractor,
        location: path,
        message: `${path}: not JSON: ${(error as Error).message}`,
      },
    };
  }
}

/** A JSON object (not null, not an array): what a metadata file's entries must be to be read. */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** An object's own property: never one of Object.prototype's (`constructor`, `__proto__`). */
export function own(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}
