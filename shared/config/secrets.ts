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
