/**
 * EventBridge's PutEvents and Security Hub's BatchImportFindings have no local emulator: real
 * SDK clients whose request handler answers as the service does (awsJson1_1 for EventBridge,
 * restJson1 for Security Hub, errors with the `x-amzn-errortype` header both protocols read),
 * with the request bodies kept for the tests to read.
 */
import { EventBridgeClient, type EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import { SecurityHubClient, type SecurityHubClientConfig } from '@aws-sdk/client-securityhub';

export interface SeenCall {
  readonly path: string;
  /** awsJson1_1's operation (`X-Amz-Target`), empty for REST APIs. */
  readonly target: string;
  readonly body: Record<string, unknown>;
}

/** A body, or an error the SDK throws by its name (`TooManyRequestsException`). */
export type Answer =
  | { readonly body: unknown }
  | { readonly status: number; readonly error: string };

function requestHandler(answer: (call: SeenCall, index: number) => Answer, seen: SeenCall[]) {
  return {
    async handle(request: {
      path: string;
      headers: Record<string, string>;
      body?: string | Uint8Array;
    }) {
      const text =
        request.body === undefined
          ? ''
          : typeof request.body === 'string'
            ? request.body
            : new TextDecoder().decode(request.body);
      const call: SeenCall = {
        path: request.path,
        target: (request.headers['x-amz-target'] ?? '').split('.').pop() ?? '',
        body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
      };
      seen.push(call);
      const a = answer(call, seen.length - 1);
      const error = 'error' in a;
      return {
        response: {
          statusCode: error ? a.status : 200,
          headers: {
            'content-type': 'application/json',
            ...(error ? { 'x-amzn-errortype': a.error } : {}),
          },
          body: new TextEncoder().encode(
            JSON.stringify(
              error ? { __type: a.error, Code: a.error, Message: 'Rate exceeded' } : a.body,
            ),
          ),
        },
      };
    },
  };
}

const base = {
  region: 'us-west-2',
  credentials: {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  },
  // The code under test does its own retries; the SDK's would hide them.
  maxAttempts: 1,
};

export function fakeEventBridge(answer: (call: SeenCall, index: number) => Answer) {
  const seen: SeenCall[] = [];
  const client = new EventBridgeClient({
    ...base,
    requestHandler: requestHandler(
      answer,
      seen,
    ) as unknown as EventBridgeClientConfig['requestHandler'],
  });
  return { client, seen };
}

export function fakeSecurityHub(answer: (call: SeenCall, index: number) => Answer) {
  const seen: SeenCall[] = [];
  const client = new SecurityHubClient({
    ...base,
    requestHandler: requestHandler(
      answer,
      seen,
    ) as unknown as SecurityHubClientConfig['requestHandler'],
  });
  return { client, seen };
}

/** PutEvents' answer as the API reference shows it: every entry accepted. */
export function putEventsOk(call: SeenCall): Answer {
  const entries = call.body.Entries as unknown[];
  return {
    body: { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `event-${i}` })) },
  };
}

/** BatchImportFindings' answer: every finding imported. */
export function importOk(call: SeenCall): Answer {
  const findings = call.body.Findings as unknown[];
  return { body: { FailedCount: 0, SuccessCount: findings.length, FailedFindings: [] } };
}
