/**
 * What SnsNotifier sends SNS for a message: a real SNSClient answered at its request handler as
 * SNS answers Publish (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html), in the AWS
 * query protocol: the request is a form with `MessageAttributes.entry.N.Name` /
 * `.Value.DataType` / `.Value.StringValue`, the response a PublishResponse XML document.
 */
import { SNSClient, type SNSClientConfig } from '@aws-sdk/client-sns';
import type { OutgoingMessage } from '../../shared/notifications/message.js';
import { SnsNotifier } from '../../shared/notifications/sns-notifier.js';

export const PUBLISHED_MESSAGE_ID = '567910cd-659e-55d4-8ccb-5aaf14679dc0';

/** Publishes through SnsNotifier; the message id it returned, the form sent, its attributes. */
export async function publishToFake(
  m: OutgoingMessage,
  topicArn = 'arn:aws:sns:us-west-2:111122223333:bosun-findings',
): Promise<{
  id: string;
  form: URLSearchParams;
  attributes: Record<string, { type: string; value: string }>;
}> {
  const forms: URLSearchParams[] = [];
  const requestHandler = {
    async handle(request: { body: string | Uint8Array }) {
      const text =
        typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
      forms.push(new URLSearchParams(text));
      const xml = `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <PublishResult><MessageId>${PUBLISHED_MESSAGE_ID}</MessageId></PublishResult>
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
    region: topicArn.split(':')[3] ?? 'us-west-2',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    requestHandler: requestHandler as unknown as SNSClientConfig['requestHandler'],
  });
  let id: string;
  try {
    id = await new SnsNotifier(sns, topicArn).publish(m);
  } finally {
    sns.destroy();
  }
  const form = forms[0] as URLSearchParams;
  const attributes: Record<string, { type: string; value: string }> = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
    const entry = `MessageAttributes.entry.${n}`;
    attributes[form.get(`${entry}.Name`) as string] = {
      type: form.get(`${entry}.Value.DataType`) as string,
      value: form.get(`${entry}.Value.StringValue`) as string,
    };
  }
  return { id, form, attributes };
}

/** The attributes of the Publish call, by name: their StringValue (a String.Array as JSON). */
export async function publishedAttributes(m: OutgoingMessage): Promise<Record<string, string>> {
  const { attributes } = await publishToFake(m);
  return Object.fromEntries(Object.entries(attributes).map(([name, a]) => [name, a.value]));
}
