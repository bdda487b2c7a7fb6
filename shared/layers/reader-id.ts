/**
 * The identity of what reads a layer, for the per-layer cache key (trivy's pkg/cache/key.go
 * hashes its analyzer versions and options the same way): anything that can change a layer's
 * result is part of it.
 */
import { createHash } from 'node:crypto';

/**
 * Identity of a reader: the sorted `id@version` of every extractor that decides what is read,
 * and any further settings that change what it makes of a layer (`name=value`). Bumping one
 * extractor's version changes the key, so only what it affects is read again.
 */
export function readerId(
  extractors: readonly { id: string; version: number }[],
  settings: Readonly<Record<string, string>> = {},
): string {
  const ids = extractors.map((e) => `${e.id}@${e.version}`).sort();
  const rest = Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  return createHash('sha256')
    .update([...ids, ...rest].join('\n'))
    .digest('hex')
    .slice(0, 32);
}
