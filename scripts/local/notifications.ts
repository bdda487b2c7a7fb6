/**
 * Reading Bosun's notifications the way a subscriber does: a queue subscribed to the findings
 * topic, each message SNS's JSON envelope around the notification
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-sqs-as-subscriber.html). The demo, the
 * pipeline benchmark and the end-to-end test read them through this.
 */
import { type SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Notification } from '../../shared/notifications/message.js';

export interface Received {
  /** When the poll that brought it returned (ms since the epoch). */
  readonly at: number;
  /** The notification's JSON, as published. */
  readonly message: string;
  readonly body: Notification;
  /** The SNS message attributes, by name. */
  readonly attributes: Record<string, string>;
}

/** Creates the queue `name` and subscribes it to the topic; returns its URL. */
export async function subscribeQueue(
  sqs: SQSClient,
  sns: SNSClient,
  topicArn: string,
  name: string,
): Promise<string> {
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl as string;
  const queueArn = (
    await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    )
  ).Attributes?.QueueArn;
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));
  return queueUrl;
}

/** One long poll of a subscribed queue: the notifications it brought, deleted from the queue. */
export async function receiveNotifications(sqs: SQSClient, queueUrl: string): Promise<Received[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  const messages = out.Messages ?? [];
  const at = Date.now();
  if (messages.length > 0)
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  return messages.map((m) => {
    const envelope = JSON.parse(m.Body ?? '{}') as {
      Message: string;
      MessageAttributes?: Record<string, { Value: string }>;
    };
    return {
      at,
      message: envelope.Message,
      body: JSON.parse(envelope.Message) as Notification,
      attributes: Object.fromEntries(
        Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, v.Value]),
      ),
    };
  });
}
