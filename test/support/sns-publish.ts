/**
 * What SnsNotifier sends SNS for a message: a real SNSClient answered at its request handler
 * with Publish's documented response (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html),
 * the message attributes read back from the query-protocol form it posted.
 */
import { SNSClient, type SNSClientConfig } from '@aws-sdk/client-sns';
import type { OutgoingMessage } from '../../shared/notifications/message.js';
import { SnsNotifier } from '../../shared/notifications/sns-notifier.js';

/** The attributes of the Publish call, by name: their StringValue (a String.Array as JSON). */
export async function publishedAttributes(m: OutgoingMessage): Promise<Record<string, string>> {
  const forms: URLSearchParams[] = [];
  const requestHandler = {
    async handle(request: { body: string }) {
      forms.push(new URLSearchParams(request.body));
      const xml = `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <PublishResult><MessageId>567910cd-659e-55d4-8ccb-5aaf14679dc0</MessageId></PublishResult>
  <ResponseMetadata><RequestId>d74b8436-ae13-5ab4-a9ff-ce54dfea72a0</RequestId></ResponseMetadata>
</PublishResponse>`;
      return {
        response: {
          statusCode: 200,
          headers: { 'content-type': 'text/xml' },
          body: new TextEncoder().encode(xml),
        },
      };
    },
  };
  const sns = new SNSClient({
    region: 'us-west-2',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    requestHandler: requestHandler as unknown as SNSClientConfig['requestHandler'],
  });
  try {
    await new SnsNotifier(sns, 'arn:aws:sns:us-west-2:111122223333:bosun-findings').publish(m);
  } finally {
    sns.destroy();
  }
  const form = forms[0] as URLSearchParams;
  const names: Record<string, string> = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++)
    names[form.get(`MessageAttributes.entry.${n}.Name`) as string] = form.get(
      `MessageAttributes.entry.${n}.Value.StringValue`,
    ) as string;
  return names;
}
