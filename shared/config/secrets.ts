/**
 * Secrets Manager strings read once per container (a webhook's shared secret, NVD's API key):
 * the first call reads, later calls share the answer; a failed read is forgotten, so the next
 * request tries again instead of the container failing for good.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export function cachedSecret(client: SecretsManagerClient, arn: string): () => Promise<string> {
  let secret: Promise<string> | undefined;
  return () => {
    secret ??= client
      .send(new GetSecretValueCommand({ SecretId: arn }))
      .then((out) => {
        if (out.SecretString === undefined || out.SecretString === '')
          throw new Error(`${arn} has no string value`);
        return out.SecretString;
      })
      .catch((error: unknown) => {
        secret = undefined;
        throw error;
      });
    return secret;
  };
}

export interface RotatingSecretOptions {
  /** Seconds after a rotation during which the previous value is still accepted. */
  readonly graceSeconds: number;
  /** How long values are kept before they are read again. @default 5 minutes */
  readonly maxAgeMs?: number;
  /** A forced read (after a request matched no value) waits at least this long after the last. @default 30 s */
  readonly minRefreshMs?: number;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/**
 * A secret rotated with a grace period, by Secrets Manager's own staging labels: rotating
 * (`put-secret-value`, or a rotation function) makes the new value AWSCURRENT and the old one
 * AWSPREVIOUS (https://docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html#term_version).
 * The accepted values are AWSCURRENT, and AWSPREVIOUS while AWSCURRENT is younger than
 * `graceSeconds`: a registry still sending the old secret keeps working until it is updated,
 * and the old secret stops working by itself after the grace.
 *
 * Values are cached per container for `maxAgeMs`; `values(true)` reads again when the cache is
 * older than `minRefreshMs`, so a freshly rotated secret is accepted at once without letting
 * wrong requests turn into a Secrets Manager call each.
 */
export function rotatingSecret(
  client: SecretsManagerClient,
  arn: string,
  options: RotatingSecretOptions,
): (fresh?: boolean) => Promise<readonly string[]> {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  const minRefreshMs = options.minRefreshMs ?? 30_000;
  let cached: { values: Promise<readonly string[]>; at: number } | undefined;

  const read = async (): Promise<readonly string[]> => {
    const current = await client.send(
      new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }),
    );
    if (current.SecretString === undefined || current.SecretString === '')
      throw new Error(`${arn} has no string value`);
    const rotatedAt = current.CreatedDate?.getTime();
    if (rotatedAt === undefined || now() - rotatedAt >= options.graceSeconds * 1000)
      return [current.SecretString];
    const previous = await client
      .send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPREVIOUS' }))
      .catch((error: Error) => {
        // A secret never rotated has no AWSPREVIOUS version.
        if (error.name === 'ResourceNotFoundException') return undefined;
        throw error;
      });
    const old = previous?.SecretString;
    return old === undefined || old === '' ? [current.SecretString] : [current.SecretString, old];
  };

  return (fresh = false) => {
    const age = cached === undefined ? Number.POSITIVE_INFINITY : now() - cached.at;
    if (cached === undefined || age >= maxAgeMs || (fresh && age >= minRefreshMs)) {
      const entry = { values: read(), at: now() };
      cached = entry;
      // A failed read is forgotten: the next request tries again.
      entry.values.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.values;
  };
}
