import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app.js';
import { SKIP_BUNDLING, synthScanner } from './support.js';

describe('cdk-nag AwsSolutions checks', () => {
  it('pass with no unacknowledged finding, for the default, a repository-scoped scanner and one with the webhook', () => {
    for (const props of [
      {},
      { repositories: ['web', 'team-a/*'] },
      { webhookRegistries: ['registry.example.com', '10.0.0.5:5000'] },
    ]) {
      const { app } = synthScanner(props);
      expect(() => app.synth()).not.toThrow();
    }
  });

  it('pass in a stack without a fixed account or region', () => {
    const { app } = synthScanner({}, undefined as unknown as string);
    expect(() => app.synth()).not.toThrow();
  });

  it('fail the synth on a new, unacknowledged finding', () => {
    const { app, stack } = buildApp({ context: SKIP_BUNDLING });
    new s3.Bucket(stack, 'CarelessBucket');
    expect(() => app.synth()).toThrow(/AwsSolutions-S1[\s\S]*Bosun\/CarelessBucket/);
  });

  it('acknowledge each finding by its own id, with a reason', () => {
    const { stack } = synthScanner({
      repositories: ['team-a/*'],
      webhookRegistries: ['registry.example.com'],
    });
    const acks = stack.node
      .findAll()
      .flatMap((c) =>
        c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY),
      )
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acks.length).toBeGreaterThan(10);
    for (const [id, reason] of acks) {
      // A bare 'AwsSolutions-IAM5' would silence every future wildcard; each names its finding.
      if (id.includes('IAM5')) expect(id).toMatch(/IAM5\[(Resource|Action)::.+\]$/);
      expect(reason.length).toBeGreaterThan(30);
    }
  });
});
