/**
 * The hardening checks' configuration (shared/checks/config.ts): what it accepts and the
 * errors that name what it does not; per-repository rules (exact, `team-a/*`, `*`), a digest in
 * several repositories, suppressions by value hash and their expiry; the value the scan
 * function's environment carries, checked at synth (infra/constructs/validate-props.ts) and read
 * back at cold start (shared/config/env.ts).
 */
import { describe, expect, it } from 'vitest';
import { validateProps } from '../../../infra/constructs/validate-props.js';
import {
  applyChecksConfig,
  ChecksConfigError,
  checksConfigEnvValue,
  checksConfigVersion,
  parseChecksConfig,
  repositoryMatches,
} from '../../../shared/checks/config.js';
import { IMAGE_CHECKS } from '../../../shared/checks/definitions.js';
import { sha256Hex } from '../../../shared/checks/secrets.js';
import type { CheckResult } from '../../../shared/checks/types.js';
import { loadConfig } from '../../../shared/config/env.js';
import { AWS_EXAMPLE_SECRET } from '../../support/check-images.js';

const HASH = sha256Hex(AWS_EXAMPLE_SECRET);
const result = (name: keyof typeof IMAGE_CHECKS, extra: Partial<CheckResult> = {}): CheckResult => {
  const d = IMAGE_CHECKS[name];
  return {
    id: d.id,
    severity: d.severity,
    title: d.title,
    remediation: d.remediation,
    anchors: d.anchors,
    evidence: { detail: d.title },
    ...extra,
  };
};
const ROOT = result('rootUser');
const HEALTH = result('healthcheck');
const SECRET = result('fileSecret', {
  severity: 'CRITICAL',
  secret: {
    rule: 'aws-credentials-file',
    location: { kind: 'file', layer: { index: 1 }, path: 'root/.aws/credentials', line: 3 },
    valueHash: HASH,
  },
});
const NOW = new Date('2030-03-01T00:00:00.000Z');
const parse = (value: unknown) => parseChecksConfig(JSON.stringify(value), 'test');
const applied = (config: unknown, repositories: string[], now = NOW) =>
  applyChecksConfig(parse(config), [ROOT, HEALTH, SECRET], repositories, now).map((c) =>
    [c.result.id, c.result.severity, c.suppressed === undefined ? '' : 'suppressed'].join(' '),
  );

describe('validation', () => {
  it('accepts an empty document and the documented shape', () => {
    expect(parse({})).toEqual({ rules: [], suppressions: [] });
    const config = parse({
      rules: [
        { repositories: ['team-a/*', 'billing'], disable: ['BOSUN-IMG-032'] },
        {
          repositories: ['*'],
          severity: { 'BOSUN-IMG-022': 'HIGH', 'ecs/privileged': 'CRITICAL' },
        },
      ],
      suppressions: [
        {
          valueHash: `sha256:${HASH}`,
          reason: 'documented example key',
          author: 'security@example.com',
          expiresAt: '2030-06-01T00:00:00Z',
        },
      ],
    });
    // The hash is kept as the results carry it: bare lower-case hex.
    expect(config.suppressions[0]?.valueHash).toBe(HASH);
  });

  it.each([
    [{ rules: [{ repositories: [], disable: ['BOSUN-IMG-001'] }] }, 'rules.0.repositories'],
    [{ rules: [{ repositories: ['Team A'] }] }, 'rules.0.repositories.0'],
    [{ rules: [{ repositories: ['*'], severity: { 'BOSUN-IMG-001': 'SEVERE' } }] }, 'severity'],
    [{ rules: [{ repositories: ['*'], disabled: ['BOSUN-IMG-001'] }] }, 'disabled'],
    [
      {
        suppressions: [
          { valueHash: 'md5:abc', reason: 'r', author: 'a', expiresAt: '2030-01-01T00:00:00Z' },
        ],
      },
      'suppressions.0.valueHash',
    ],
    [
      { suppressions: [{ valueHash: HASH, reason: 'r', author: 'a', expiresAt: 'next year' }] },
      'suppressions.0.expiresAt',
    ],
    [
      { suppressions: [{ valueHash: HASH, reason: 'r', expiresAt: '2030-01-01T00:00:00Z' }] },
      'author',
    ],
  ])('rejects %j, naming %s', (value, where) => {
    expect(() => parse(value)).toThrow(ChecksConfigError);
    expect(() => parse(value)).toThrow(where);
  });

  it('rejects what is not JSON, naming the source', () => {
    expect(() => parseChecksConfig('{rules:', 'checks.json')).toThrow(/checks\.json: not JSON/);
  });
});

describe('applying', () => {
  it('matches exact names, prefixes and *', () => {
    expect(repositoryMatches('team-a/*', 'team-a/app')).toBe(true);
    expect(repositoryMatches('team-a/*', 'team-ab/app')).toBe(false);
    expect(repositoryMatches('team-a/app', 'team-a/app2')).toBe(false);
    expect(repositoryMatches('*', 'anything')).toBe(true);
  });

  it('disables and re-rates per repository', () => {
    const config = {
      rules: [
        { repositories: ['team-a/*'], disable: ['BOSUN-IMG-001'] },
        { repositories: ['*'], severity: { 'BOSUN-IMG-032': 'HIGH' } },
      ],
    };
    expect(applied(config, ['team-a/app'])).toEqual([
      'BOSUN-IMG-032 HIGH ',
      'BOSUN-IMG-011 CRITICAL ',
    ]);
    expect(applied(config, ['team-b/app'])).toEqual([
      'BOSUN-IMG-001 MEDIUM ',
      'BOSUN-IMG-032 HIGH ',
      'BOSUN-IMG-011 CRITICAL ',
    ]);
    // A local archive has no repository: only rules for every repository apply.
    expect(applied(config, [])).toEqual([
      'BOSUN-IMG-001 MEDIUM ',
      'BOSUN-IMG-032 HIGH ',
      'BOSUN-IMG-011 CRITICAL ',
    ]);
  });

  it('keeps a check a digest has in any repository that does not disable it, at the highest severity given', () => {
    const config = {
      rules: [
        {
          repositories: ['team-a/app'],
          disable: ['BOSUN-IMG-001'],
          severity: { 'BOSUN-IMG-032': 'MEDIUM' },
        },
        { repositories: ['team-b/app'], severity: { 'BOSUN-IMG-032': 'CRITICAL' } },
      ],
    };
    expect(applied(config, ['team-a/app', 'team-b/app'])).toEqual([
      'BOSUN-IMG-001 MEDIUM ',
      'BOSUN-IMG-032 CRITICAL ',
      'BOSUN-IMG-011 CRITICAL ',
    ]);
  });

  it('suppresses a secret by its value hash until the expiry, and only where every repository allows it', () => {
    const suppression = {
      valueHash: `sha256:${HASH}`,
      reason: 'documented example key',
      author: 'security@example.com',
      expiresAt: '2030-04-01T00:00:00Z',
    };
    expect(applied({ suppressions: [suppression] }, ['team-a/app'])).toContain(
      'BOSUN-IMG-011 CRITICAL suppressed',
    );
    expect(
      applied({ suppressions: [suppression] }, ['team-a/app'], new Date('2030-04-01T00:00:00Z')),
    ).toContain('BOSUN-IMG-011 CRITICAL ');
    const scoped = { suppressions: [{ ...suppression, repositories: ['team-a/*'] }] };
    expect(applied(scoped, ['team-a/app'])).toContain('BOSUN-IMG-011 CRITICAL suppressed');
    expect(applied(scoped, ['team-a/app', 'team-b/app'])).toContain('BOSUN-IMG-011 CRITICAL ');
    // Another value's hash suppresses nothing.
    expect(
      applied({ suppressions: [{ ...suppression, valueHash: sha256Hex('other') }] }, []),
    ).toContain('BOSUN-IMG-011 CRITICAL ');
  });

  it('versions a configuration by its content', () => {
    expect(checksConfigVersion(parse({}))).toBe(checksConfigVersion(parse({ rules: [] })));
    expect(checksConfigVersion(parse({}))).not.toBe(
      checksConfigVersion(parse({ rules: [{ repositories: ['*'], disable: ['BOSUN-IMG-032'] }] })),
    );
  });
});

describe('in the deployment', () => {
  const config = { rules: [{ repositories: ['team-a/*'], disable: ['BOSUN-IMG-032'] }] };

  it('is validated at synth and carried as compact JSON the scan function reads back', () => {
    const value = validateProps({ imageChecks: config }).imageChecks;
    expect(value).toBe(checksConfigEnvValue(config, 'imageChecks'));
    expect(validateProps({}).imageChecks).toBeUndefined();
    const loaded = loadConfig(['imageChecks'], { BOSUN_IMAGE_CHECKS: value });
    expect(loaded.imageChecks).toEqual(parse(config));
  });

  it('fails synth naming the prop, and cold start naming the variable', () => {
    expect(() =>
      validateProps({ imageChecks: { rules: [{ repositories: ['*'], disable: [''] }] } }),
    ).toThrow(/imageChecks: invalid checks configuration: rules\.0\.disable\.0/);
    expect(() => loadConfig(['imageChecks'], { BOSUN_IMAGE_CHECKS: '{"rules":1}' })).toThrow(
      /BOSUN_IMAGE_CHECKS/,
    );
  });

  it('refuses at synth a configuration too large for the function environment', () => {
    const suppressions = Array.from({ length: 12 }, (_, i) => ({
      valueHash: sha256Hex(`value ${i}`),
      reason: 'a documented example, not a credential',
      author: 'security@example.com',
      expiresAt: '2030-06-01T00:00:00Z',
    }));
    expect(() => validateProps({ imageChecks: { suppressions } })).toThrow(
      /at most 2048 fit in the scan function's environment/,
    );
  });
});
