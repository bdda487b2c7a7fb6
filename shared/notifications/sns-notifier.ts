/**
 * Publishes notifications to the findings topic, with the message attributes filter policies
 * match on (https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html). The
 * repository attribute is a String.Array: a policy naming one repository matches a digest
 * pushed to several.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notifier, OutgoingMessage } from './message.js';

export class SnsNotifier implements Notifier {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(message: OutgoingMessage): Promise<string> {
    const a = message.attributes;
    const out = await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Message: message.body,
        MessageAttributes: {
          eventType: { DataType: 'String', StringValue: a.eventType },
          maxSeverity: { DataType: 'String', StringValue: a.maxSeverity },
          fixAvailable: { DataType: 'String', StringValue: a.fixAvailable },
          kev: { DataType: 'String', StringValue: a.kev },
          ...(a.repository.length === 0
            ? {}
            : {
                repository: { DataType: 'String.Array', StringValue: JSON.stringify(a.repository) },
              }),
          dedupeKey: { DataType: 'String', StringValue: message.dedupeKey },
          ...(a.coverage === undefined
            ? {}
            : { coverage: { DataType: 'String', StringValue: a.coverage } }),
          ...(a.provenance === undefined
            ? {}
            : { provenance: { DataType: 'String', StringValue: a.provenance } }),
          ...(a.provenanceMode === undefined
            ? {}
            : { provenanceMode: { DataType: 'String', StringValue: a.provenanceMode } }),
          ...(a.workloadSource === undefined
            ? {}
            : { workloadSource: { DataType: 'String', StringValue: a.workloadSource } }),
          ...(a.reachable === undefined
            ? {}
            : { reachable: { DataType: 'String', StringValue: a.reachable } }),
          ...(a.checkIds === undefined || a.checkIds.length === 0
            ? {}
            : { checkIds: { DataType: 'String.Array', StringValue: JSON.stringify(a.checkIds) } }),
        },
      }),
    );
    return out.MessageId ?? '';
  }
}
