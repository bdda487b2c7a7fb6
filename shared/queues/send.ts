/**
 * Sends message bodies to an SQS queue ten at a time (SendMessageBatch's limit), sending again
 * the entries a batch reports as failed
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BosunError } from '../errors.js';

/** The queue did not accept every message after the attempts allowed. */
export class QueueSendError extends BosunError {
  readonly fatal = true;
}

export async function sendMessages(
  sqs: SQSClient,
  queueUrl: string,
  bodies: readonly string[],
  attempts = 5,
): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    let entries = bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: String(j), MessageBody }));
    for (let attempt = 0; entries.length > 0; attempt++) {
      if (attempt === attempts)
        throw new QueueSendError(
          `${entries.length} messages not accepted by ${queueUrl} after ${attempts} attempts`,
        );
      const out = await sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
      );
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      entries = entries.filter((e) => failed.has(e.Id));
    }
  }
}
