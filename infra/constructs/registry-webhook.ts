import { Duration, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV_VARS } from '../../shared/config/env.js';
import { BosunFunction, type BosunFunctionDefaults } from './bosun-function.js';

export interface RegistryWebhookProps {
  /** Also applies to the shared secret. */
  readonly functionDefaults: BosunFunctionDefaults;
  /** Where accepted push notifications go. */
  readonly scanQueue: sqs.IQueue;
  /**
   * Registry hosts (`host[:port]`) whose notifications are accepted.
   * @default none: every notification is refused
   */
  readonly registries?: readonly string[];
}

export interface RegistryWebhook {
  readonly function: BosunFunction;
  readonly url: lambda.FunctionUrl;
  /** The shared secret registries send as `Authorization: Bearer <secret>`. */
  readonly secret: secretsmanager.Secret;
}

/**
 * Function URL -> webhook function -> scan queue, for push notifications of other registries
 * (CNCF distribution's envelope), with the shared secret they authenticate with. Created in
 * `scope` itself (`WebhookSecret`, `RegistryWebhook`) to keep the logical ids of deployed stacks.
 */
export function buildRegistryWebhook(
  scope: Construct,
  props: RegistryWebhookProps,
): RegistryWebhook {
  const registries = props.registries ?? [];
  const secret = new secretsmanager.Secret(scope, 'WebhookSecret', {
    description: 'Shared secret that registries send with their push notifications to Bosun',
    generateSecretString: { excludePunctuation: true, passwordLength: 48 },
    removalPolicy: props.functionDefaults.removalPolicy,
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The secret is also configured in each registry that notifies Bosun; rotating it is a coordinated change (docs: README, Registry webhook).',
  });
  const fn = new BosunFunction(scope, 'RegistryWebhook', {
    ...props.functionDefaults,
    handlerDir: 'registry-webhook',
    timeout: Duration.seconds(30),
    memorySize: 512,
    environment: {
      [ENV_VARS.scanQueueUrl]: props.scanQueue.queueUrl,
      [ENV_VARS.webhookSecretArn]: secret.secretArn,
      ...(registries.length === 0 ? {} : { [ENV_VARS.webhookRegistries]: registries.join(',') }),
    },
  });
  // Registries cannot sign requests with SigV4: the function checks the shared secret itself.
  const url = fn.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
  secret.grantRead(fn.function);
  props.scanQueue.grantSendMessages(fn.function);
  return { function: fn, url, secret };
}
