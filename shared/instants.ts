/**
 * Event times come with different precision and offsets (ECR: whole seconds in UTC; registry
 * webhooks: RFC 3339 with fractions and offsets), so they are compared as instants, never as
 * strings.
 */

/** The latest of the given times (as written), or undefined when none is given. */
export function latestInstant(...times: readonly (string | undefined)[]): string | undefined {
  let latest: string | undefined;
  for (const t of times)
    if (t !== undefined && (latest === undefined || Date.parse(t) > Date.parse(latest))) latest = t;
  return latest;
}

/** Whether `a` is strictly before `b`. */
export const isBefore = (a: string, b: string) => Date.parse(a) < Date.parse(b);
