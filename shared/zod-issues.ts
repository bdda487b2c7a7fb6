/**
 * zod's validation issues as text, for every error that reports a schema failure (events,
 * manifests, archives, advisories): a neutral module, so no layer imports upward for it.
 */
import type { z } from 'zod';

/** Formats zod issues as `path: message`, the form every schema error carries. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
}
