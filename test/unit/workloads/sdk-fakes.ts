/**
 * ECS, Lambda's control plane and EKS have no local emulator: real SDK clients whose request
 * handler answers as the service does, with bodies typed by the SDK's own output types and put
 * on the wire as each protocol does (timestamps as epoch seconds in JSON, as the API
 * references show them).
 */
import { ECSClient, type ECSClientConfig } from '@aws-sdk/client-ecs';
import { EKSClient, type EKSClientConfig } from '@aws-sdk/client-eks';
import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string | string[] | null>;
  /** awsJson1_1's operation (`X-Amz-Target`), empty for REST APIs. */
  readonly target: string;
  readonly body: Record<string, unknown>;
}

export type Answer = { status?: number; body: unknown };

/** JSON with Dates as epoch seconds (awsJson1_1 and restJson1 timestamps). */
const wire = (value: unknown) =>
  JSON.stringify(value, function (key, v) {
    const raw = (this as Record<string, unknown>)[key];
    return raw instanceof Date ? raw.getTime() / 1000 : v;
  });

function handler(answer: (r: SeenRequest) => Answer, seen: SeenRequest[]) {
  return {
    async handle(request: {
      method: string;
      path: string;
      query?: Record<string, string | string[] | null>;
      headers: Record<string, string>;
      body?: string | Uint8Array;
    }) {
      const text =
        request.body === undefined
          ? ''
          : typeof request.body === 'string'
            ? request.body
            : new TextDecoder().decode(request.body);
      const r: SeenRequest = {
        method: request.method,
        path: request.path,
        query: request.query ?? {},
        target: (request.headers['x-amz-target'] ?? '').split('.').pop() ?? '',
        body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
      };
      seen.push(r);
      const a = answer(r);
      return {
        response: {
          statusCode: a.status ?? 200,
          headers: { 'content-type': 'application/json' },
          body: new TextEncoder().encode(wire(a.body)),
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
  maxAttempts: 1,
};

export function fakeEcs(answer: (r: SeenRequest) => Answer) {
  const seen: SeenRequest[] = [];
  const client = new ECSClient({
    ...base,
    requestHandler: handler(answer, seen) as unknown as ECSClientConfig['requestHandler'],
  });
  return { client, seen };
}

export function fakeLambda(answer: (r: SeenRequest) => Answer) {
  const seen: SeenRequest[] = [];
  const client = new LambdaClient({
    ...base,
    requestHandler: handler(answer, seen) as unknown as LambdaClientConfig['requestHandler'],
  });
  return { client, seen };
}

export function fakeEks(answer: (r: SeenRequest) => Answer) {
  const seen: SeenRequest[] = [];
  const client = new EKSClient({
    ...base,
    requestHandler: handler(answer, seen) as unknown as EKSClientConfig['requestHandler'],
  });
  return { client, seen };
}
