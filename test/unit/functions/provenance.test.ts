/**
 * The provenance function at cold start: it exists only with a policy, and says which variable
 * to set; a malformed policy source fails there too. The pass itself runs on the local stack
 * (test/integration/provenance-function.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEPLOYED_ENV } from '../../support/lambda.js';

beforeEach(() => {
  vi.resetModules();
  for (const [name, value] of Object.entries(DEPLOYED_ENV)) vi.stubEnv(name, value);
});
afterEach(() => vi.unstubAllEnvs());

describe('provenance handler', () => {
  it('fails at cold start without a policy, naming the variables that give one', async () => {
    await expect(import('../../../functions/provenance/index.js')).rejects.toThrow(
      'invalid configuration: the provenance function needs a policy: BOSUN_PROVENANCE_POLICY, BOSUN_PROVENANCE_POLICY_S3 or BOSUN_PROVENANCE_POLICY_SSM',
    );
  });

  it('fails at cold start on two policy sources', async () => {
    vi.stubEnv('BOSUN_PROVENANCE_POLICY_S3', 's3://acme-policies/bosun/policy.yaml');
    vi.stubEnv('BOSUN_PROVENANCE_POLICY_SSM', '/bosun/provenance-policy');
    await expect(import('../../../functions/provenance/index.js')).rejects.toThrow(
      'only one provenance policy source may be set, got BOSUN_PROVENANCE_POLICY_S3 and BOSUN_PROVENANCE_POLICY_SSM',
    );
  });
});
