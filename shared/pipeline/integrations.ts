/**
 * The integrations of issue 22 wired onto a use case's dependencies from the configuration:
 * with BOSUN_EVENT_BUS, every message goes to the findings topic and then to EventBridge (a
 * fan-out: one dedupe record per destination, announce.ts sendOnce); with
 * BOSUN_SECURITY_HUB_PRODUCT_ARN, each committed generation's changed findings go to Security
 * Hub. Both SDK clients are imported on first use (config/clients.ts).
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { eventBridgeFromConfig, securityHubFromConfig } from '../config/clients.js';
import type { Config } from '../config/env.js';
import type { FailedFinding, SecurityHubSink } from '../integrations/security-hub.js';
import { EventBridgeNotifier } from '../notifications/eventbridge-notifier.js';
import { FanOutNotifier } from '../notifications/fan-out.js';
import type { Notifier } from '../notifications/message.js';
import type { PipelineDeps } from './context.js';

/** The variables the scan and rescan functions read for their integrations. */
export const INTEGRATIONS_CONFIG = [
  'eventBus',
  'eventSource',
  'securityHubProductArn',
  'region',
] as const;

type IntegrationsConfig = Config<(typeof INTEGRATIONS_CONFIG)[number]>;

/** A client built on its first request. */
function onFirstUse<C extends { send: unknown }>(make: () => Promise<C>): Pick<C, 'send'> {
  let client: Promise<C> | undefined;
  return {
    send: (async (command: unknown) => {
      client ??= make();
      return ((await client).send as (c: unknown) => Promise<unknown>)(command);
    }) as C['send'],
  };
}

/**
 * The topic's notifier, then EventBridge when a bus is configured (a fan-out, one dedupe record
 * per destination); the notifier itself when none is. The audit and provenance functions use
 * it alone: their messages are no findings Security Hub takes.
 */
export function eventsAfterTopic(
  notifier: Notifier,
  config: Config<'eventBus' | 'eventSource' | 'region'>,
): Notifier {
  if (config.eventBus === undefined) return notifier;
  return new FanOutNotifier([
    { name: 'sns', notifier },
    {
      name: 'events',
      notifier: new EventBridgeNotifier(
        onFirstUse<EventBridgeClient>(() => eventBridgeFromConfig(config)),
        {
          eventBus: config.eventBus,
          ...(config.eventSource === undefined ? {} : { source: config.eventSource }),
        },
      ),
    },
  ]);
}

/**
 * The dependencies with EventBridge after the topic and Security Hub, as configured; unchanged
 * when neither is. `onRefused` hears of findings Security Hub did not take after its retries.
 */
export function withIntegrations<D extends PipelineDeps>(
  deps: D,
  config: IntegrationsConfig,
  onRefused?: (digest: string, failed: readonly FailedFinding[]) => void,
): D {
  const notifier = eventsAfterTopic(deps.notifier, config);
  const securityHub: SecurityHubSink | undefined =
    config.securityHubProductArn === undefined
      ? undefined
      : {
          client: onFirstUse<SecurityHubClient>(() => securityHubFromConfig(config)),
          productArn: config.securityHubProductArn,
          ...(onRefused === undefined ? {} : { onFailed: onRefused }),
        };
  return { ...deps, notifier, ...(securityHub === undefined ? {} : { securityHub }) };
}
