import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services.js';
import type { LocalStackState } from '../../scripts/local/stack.js';

/** SDK clients pointed at the local stack, as a handler's environment would point them. */
export function localClients(state: LocalStackState) {
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: state.services.dynamodb.endpoint });
  return {
    dynamodb,
    documents: DynamoDBDocumentClient.from(dynamodb),
    // fauxqs's queue URLs name a host that does not resolve; send every call to its endpoint.
    sqs: new SQSClient({
      ...common,
      endpoint: state.services.fauxqs.endpoint,
      useQueueUrlAsEndpoint: false,
    }),
    sns: new SNSClient({ ...common, endpoint: state.services.fauxqs.endpoint }),
    destroy() {
      for (const c of [this.dynamodb, this.sqs, this.sns]) c.destroy();
    },
  };
}

/** The local resource created for the logical id `<path><8 hex digits>` (CDK's naming). */
export function resourceByPrefix(state: LocalStackState, prefix: string) {
  const pattern = new RegExp(`^${prefix}[0-9A-F]{8}$`);
  const matches = Object.entries(state.local.resources).filter(([id]) => pattern.test(id));
  if (matches.length !== 1)
    throw new Error(
      `expected one local resource named ${prefix}*, found ${matches.map(([id]) => id).join(', ')}`,
    );
  const [logicalId, resource] = matches[0] as [string, (typeof matches)[number][1]];
  return { logicalId, ...resource };
}
