import { Aws, Stack } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ENV_VARS } from '../../shared/config/env.js';
import type { BosunFunction } from './bosun-function.js';

/** Every notification also as an EventBridge event (docs/integrations.md). */
export interface EventsProps {
  /** @default the account's default event bus */
  readonly eventBus?: events.IEventBus;
  /**
   * The events' `source`: `bosun.<stage>` tells two deployments in one account apart.
   * @default 'bosun'
   */
  readonly source?: string;
}

/** Findings to Security Hub as ASFF (docs/integrations.md); the account must have Security Hub. */
export interface SecurityHubProps {
  readonly enabled: boolean;
}

export interface IntegrationSettings {
  /** `undefined`: no events (`events: false`). */
  readonly events: { readonly eventBus?: events.IEventBus; readonly source: string } | undefined;
  readonly securityHub: boolean;
}

/**
 * The functions' own default (shared/notifications/eventbridge-notifier.ts, which the construct
 * does not import: it would bring the EventBridge SDK into the CDK library; a test holds them equal).
 */
export const DEFAULT_EVENT_SOURCE = 'bosun';

// PutEventsRequestEntry's Source: 1 to 256 characters, `aws.` reserved for AWS services.
const EVENT_SOURCE = /^[A-Za-z0-9._\-/]{1,256}$/;

/** The integration props with their defaults, checked (validate-props.ts calls this). */
export function integrationSettings(
  eventsProp: EventsProps | false | undefined,
  securityHub: SecurityHubProps | undefined,
): IntegrationSettings {
  const source = eventsProp === false ? undefined : (eventsProp?.source ?? DEFAULT_EVENT_SOURCE);
  if (source !== undefined && (!EVENT_SOURCE.test(source) || source.startsWith('aws.')))
    throw new Error(
      `events.source ${JSON.stringify(source)} is not a valid event source: 1 to 256 letters, digits and . _ - /, not starting with "aws." (e.g. "bosun.prod")`,
    );
  return {
    events:
      eventsProp === false || source === undefined
        ? undefined
        : {
            ...(eventsProp?.eventBus === undefined ? {} : { eventBus: eventsProp.eventBus }),
            source,
          },
    securityHub: securityHub?.enabled === true,
  };
}

/** The bus events go to: the one given, or the account's default bus. */
export function eventBusArn(scope: Construct, settings: IntegrationSettings): string | undefined {
  if (settings.events === undefined) return undefined;
  return (
    settings.events.eventBus?.eventBusArn ??
    Stack.of(scope).formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })
  );
}

/** This account's product ARN for its own findings (custom integrations). */
export function securityHubProductArn(): string {
  return `arn:${Aws.PARTITION}:securityhub:${Aws.REGION}:${Aws.ACCOUNT_ID}:product/${Aws.ACCOUNT_ID}/default`;
}

/** The variables that turn the integrations on in the scan and rescan functions. */
export function integrationsEnvironment(
  scope: Construct,
  settings: IntegrationSettings,
): Record<string, string> {
  const bus = eventBusArn(scope, settings);
  return {
    ...(bus === undefined || settings.events === undefined
      ? {}
      : { [ENV_VARS.eventBus]: bus, [ENV_VARS.eventSource]: settings.events.source }),
    ...(settings.securityHub ? { [ENV_VARS.securityHubProductArn]: securityHubProductArn() } : {}),
  };
}

/**
 * events:PutEvents on that one bus, and securityhub:BatchImportFindings on the account's own
 * product ARN (both support resource-level permissions:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecurityhub.html).
 */
export function grantIntegrations(
  scope: Construct,
  fn: BosunFunction,
  settings: IntegrationSettings,
): void {
  const bus = eventBusArn(scope, settings);
  if (bus !== undefined)
    fn.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [bus] }),
    );
  if (settings.securityHub)
    fn.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['securityhub:BatchImportFindings'],
        resources: [securityHubProductArn()],
      }),
    );
}
