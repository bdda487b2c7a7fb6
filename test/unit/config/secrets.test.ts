/**
 * Secrets read once per container (shared/config/secrets.ts): Secrets Manager is faked at the
 * SDK boundary with GetSecretValue's documented answer and error.
 */
import { type GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it, vi } from 'vitest';
import { cachedSecret, rotatingSecret } from '../../../shared/config/secrets.js';

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

describe('rotatingSecret', () => {
  const WEBHOOK = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bosun/webhook-AbCdEf';
  const ROTATED_AT = Date.parse('2026-12-07T10:00:00Z');

  /** Secrets Manager after one put-secret-value: `new` is AWSCURRENT, `old` AWSPREVIOUS. */
  function rotated(previous = true) {
    const client = new SecretsManagerClient({ region: 'us-east-1' });
    const asked: (string | undefined)[] = [];
    vi.spyOn(client, 'send').mockImplementation(async (command) => {
      const stage = (command as GetSecretValueCommand).input.VersionStage;
      asked.push(stage);
      if (stage === 'AWSCURRENT')
        return { ARN: WEBHOOK, SecretString: 'new', CreatedDate: new Date(ROTATED_AT) } as never;
      if (previous) return { ARN: WEBHOOK, SecretString: 'old' } as never;
      throw Object.assign(new Error("Secrets Manager can't find the specified secret value"), {
        name: 'ResourceNotFoundException',
      });
    });
    return { client, asked };
  }

  it('accepts the previous value during the grace after a rotation, and only the current after', async () => {
    let now = ROTATED_AT + 3_600_000;
    const { client } = rotated();
    const secrets = rotatingSecret(client, WEBHOOK, { graceSeconds: 86_400, now: () => now });
    expect(await secrets()).toEqual(['new', 'old']);
    now = ROTATED_AT + 86_400_000;
    expect(await secrets(true)).toEqual(['new']);
  });

  it('accepts only the current value of a secret never rotated', async () => {
    const { client } = rotated(false);
    const secrets = rotatingSecret(client, WEBHOOK, {
      graceSeconds: 86_400,
      now: () => ROTATED_AT,
    });
    expect(await secrets()).toEqual(['new']);
  });

  it('reads again after maxAge, or when asked for fresh values no sooner than minRefresh', async () => {
    let now = ROTATED_AT + 90_000_000;
    const { client, asked } = rotated();
    const secrets = rotatingSecret(client, WEBHOOK, { graceSeconds: 60, now: () => now });
    await secrets();
    await secrets(true); // just read: a wrong request does not cost a call
    expect(asked).toEqual(['AWSCURRENT']);
    now += 30_000;
    await secrets();
    await secrets(true);
    expect(asked).toEqual(['AWSCURRENT', 'AWSCURRENT']);
    now += 300_000;
    await secrets();
    expect(asked).toEqual(['AWSCURRENT', 'AWSCURRENT', 'AWSCURRENT']);
  });
});
