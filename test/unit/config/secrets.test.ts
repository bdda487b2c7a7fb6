/**
 * Secrets read once per container (shared/config/secrets.ts): Secrets Manager is faked at the
 * SDK boundary with GetSecretValue's documented answer and error.
 */
import { type GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it, vi } from 'vitest';
import { cachedSecret } from '../../../shared/config/secrets.js';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bosun/nvd-AbCdEf';

describe('cachedSecret', () => {
  it('reads once, shares the answer, and reads again after a failure', async () => {
    const client = new SecretsManagerClient({ region: 'us-east-1' });
    const asked: unknown[] = [];
    vi.spyOn(client, 'send')
      .mockImplementationOnce(async (command) => {
        asked.push((command as GetSecretValueCommand).input);
        throw Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
      })
      .mockImplementation(async (command) => {
        asked.push((command as GetSecretValueCommand).input);
        return { ARN, Name: 'bosun/nvd', SecretString: 'nvd-key', VersionId: 'v1' } as never;
      });
    const secret = cachedSecret(client, ARN);
    await expect(secret()).rejects.toThrow('User is not authorized');
    expect(await secret()).toBe('nvd-key');
    expect(await secret()).toBe('nvd-key');
    expect(asked).toEqual([{ SecretId: ARN }, { SecretId: ARN }]);
  });

  it('refuses a secret with no string value, naming it', async () => {
    const client = new SecretsManagerClient({ region: 'us-east-1' });
    vi.spyOn(client, 'send').mockImplementation(async () => ({ ARN, Name: 'bosun/nvd' }) as never);
    await expect(cachedSecret(client, ARN)()).rejects.toThrow(`${ARN} has no string value`);
  });
});
