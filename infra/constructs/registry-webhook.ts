import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV_VARS } from '../../shared/config/env.js';
import { WEBHOOK_EVENT_PREFIX } from '../../shared/ingest/event-ledger.js';
import { BosunFunction, type BosunFunctionDefaults } from './bosun-function.js';

export interface RegistryWebhookProps {
  /** Also applies to the registries' secrets. */
  readonly functionDefaults: BosunFunctionDefaults;
  /** Where accepted push notifications go. */
  readonly scanQueue: sqs.IQueue;
  /** Holds the record of received event ids (items `WEBHOOK#...`, with the table's TTL). */
  readonly findingsTable: dynamodb.ITable;
  /** Registry hosts (`host[:port]`) whose notifications are accepted, each with a secret. */
  readonly registries: readonly string[];
  /** How far a signed timestamp, or a bearer request's event time, may be from now. */
  readonly replayWindow: Duration;
  /** How long the previous secret stays valid after a rotation. */
  readonly previousSecretGrace: Duration;
  /** Concurrent executions reserved for, and capping, the webhook. */
  readonly reservedConcurrency: number;
}

export interface RegistryWebhook {
  readonly function: BosunFunction;
  readonly url: lambda.FunctionUrl;
  /** Each registry's secret, by registry host. */
  readonly secrets: ReadonlyMap<string, secretsmanager.Secret>;
}

/**
 * Function URL -> webhook function -> scan queue, for push notifications of other registries
 * (CNCF distribution's envelope), with one secret per registry. Created in `scope` itself
 * (`WebhookSecret-<host>`, `RegistryWebhook`); only built when registries are configured.
 */
export function buildRegistryWebhook(
  scope: Construct,
  props: RegistryWebhookProps,
): RegistryWebhook {
  const secrets = new Map<string, secretsmanager.Secret>();
  for (const host of props.registries) {
    const secret = new secretsmanager.Secret(scope, `WebhookSecret-${host}`, {
      description: `Secret the registry ${host} signs (or sends) its push notifications to Bosun with`,
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      removalPolicy: props.functionDefaults.removalPolicy,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The secret is also configured in the registry, which no rotation function can reach: it is rotated with put-secret-value, and the previous value stays valid for a grace period (README, Registry webhook).',
    });
    secrets.set(host, secret);
  }
  const fn = new BosunFunction(scope, 'RegistryWebhook', {
    ...props.functionDefaults,
    handlerDir: 'registry-webhook',
    timeout: Duration.seconds(30),
    memorySize: 512,
    // A public URL: a flood of requests is capped here, not by the account's whole pool.
    reservedConcurrentExecutions: props.reservedConcurrency,
    environment: {
      [ENV_VARS.scanQueueUrl]: props.scanQueue.queueUrl,
      [ENV_VARS.findingsTable]: props.findingsTable.tableName,
      [ENV_VARS.webhookSecrets]: [...secrets]
        .map(([host, secret]) => `${host}=${secret.secretArn}`)
        .join(','),
      [ENV_VARS.webhookReplayWindow]: String(props.replayWindow.toSeconds()),
      [ENV_VARS.webhookPreviousSecretGrace]: String(props.previousSecretGrace.toSeconds()),
    },
  });
  // Registries cannot sign requests with SigV4: the function checks each registry's secret.
  const url = fn.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
  for (const secret of secrets.values()) secret.grantRead(fn.function);
  props.scanQueue.grantSendMessages(fn.function);
  // Records event ids, and forgets those it could not queue: its own items only.
  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
  fn.function.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resources: [props.findingsTable.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${WEBHOOK_EVENT_PREFIX}*`] },
      },
    }),
  );
  return { function: fn, url, secrets };
}
