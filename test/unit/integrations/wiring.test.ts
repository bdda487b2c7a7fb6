/**
 * The integrations as the scan and rescan functions configure them: the variables checked at
 * cold start, EventBridge after the topic only with a bus, Security Hub only with a product ARN.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../shared/config/env.js';
import { FanOutNotifier } from '../../../shared/notifications/fan-out.js';
import type { PipelineDeps } from '../../../shared/pipeline/context.js';
import { INTEGRATIONS_CONFIG, withIntegrations } from '../../../shared/pipeline/integrations.js';
import { RecordingNotifier } from '../../support/pipeline.js';

const PRODUCT = 'arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default';
const BUS = 'arn:aws:events:eu-west-1:111122223333:event-bus/default';
const deps = { notifier: new RecordingNotifier() } as unknown as PipelineDeps;

describe('integration settings', () => {
  it('reads the bus, the source and the product ARN', () => {
    const config = loadConfig(INTEGRATIONS_CONFIG, {
      AWS_REGION: 'eu-west-1',
      BOSUN_EVENT_BUS: BUS,
      BOSUN_EVENT_SOURCE: 'bosun.prod',
      BOSUN_SECURITY_HUB_PRODUCT_ARN: PRODUCT,
    });
    expect(config).toEqual({
      region: 'eu-west-1',
      eventBus: BUS,
      eventSource: 'bosun.prod',
      securityHubProductArn: PRODUCT,
    });
  });

  it('names each bad variable: an AWS source, another account in the product ARN', () => {
    const error = (() => {
      try {
        loadConfig(INTEGRATIONS_CONFIG, {
          AWS_REGION: 'eu-west-1',
          BOSUN_EVENT_SOURCE: 'aws.bosun',
          BOSUN_SECURITY_HUB_PRODUCT_ARN: PRODUCT.replace(
            'product/111122223333',
            'product/444455556666',
          ),
        });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.split('=')[0])).toEqual([
      'BOSUN_EVENT_SOURCE',
      'BOSUN_SECURITY_HUB_PRODUCT_ARN',
    ]);
  });

  it('leaves the dependencies as they are when neither is configured', () => {
    const wired = withIntegrations(deps, { region: 'eu-west-1' } as never);
    expect(wired.notifier).toBe(deps.notifier);
    expect(wired.securityHub).toBeUndefined();
  });

  it('sends to the topic first, then EventBridge; Security Hub under the product ARN', () => {
    const wired = withIntegrations(
      deps,
      loadConfig(INTEGRATIONS_CONFIG, {
        AWS_REGION: 'eu-west-1',
        BOSUN_EVENT_BUS: BUS,
        BOSUN_SECURITY_HUB_PRODUCT_ARN: PRODUCT,
      }),
    );
    expect(wired.notifier).toBeInstanceOf(FanOutNotifier);
    const targets = (wired.notifier as FanOutNotifier).targets;
    expect(targets.map((t) => t.name)).toEqual(['sns', 'events']);
    expect(targets[0]?.notifier).toBe(deps.notifier);
    expect((wired.notifier as FanOutNotifier).deliveries('KEY').map((d) => d.dedupeKey)).toEqual([
      'KEY',
      'KEY#events',
    ]);
    expect(wired.securityHub?.productArn).toBe(PRODUCT);
  });
});
