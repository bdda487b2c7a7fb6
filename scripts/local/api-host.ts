/**
 * The read API on the local stack: an HTTP server on loopback standing in for API Gateway in
 * front of the api function. Each request is matched against the route table the construct
 * builds its resources from (shared/api/routes.ts ROUTES) under the stage `/v1`, and handed to
 * the function as the REST (v1) proxy event API Gateway sends
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format):
 * path parameters as the client sent them (percent-encoding kept, as REST APIs do), query
 * parameters decoded, and `requestContext.identity.userArn` the caller's principal.
 *
 * AWS_IAM authorisation is imitated, not evaluated. A request must carry a SigV4 signature
 * (Authorization header, service `execute-api`) by an access key the local stack knows
 * (LOCAL_PRINCIPALS: the local stack's credentials), made within 5 minutes, and it is checked by
 * signing the request again with that key's secret; its principal is the key's ARN. No IAM
 * policy is read: every known key may call every route. What fails is answered as API Gateway
 * answers it: 403 with `{"message": …}` and `x-amzn-ErrorType`.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { EXECUTE_API, signedHeaders } from '../../cli/sigv4.js';
import { ROUTES } from '../../shared/api/routes.js';
import { LOCAL_CREDENTIALS } from './services.js';

/** The stage the construct deploys (its URL ends in `/v1/`). */
export const API_STAGE = 'v1';
/** Where a running functions host records the API's URL in the stack's folder (local:status). */
export const API_URL_FILE = 'api-url';

export interface LocalPrincipal {
  readonly secretAccessKey: string;
  /** What API Gateway would put in `requestContext.identity.userArn`. */
  readonly arn: string;
}

/** Access keys the local API accepts, by access key id. */
export const LOCAL_PRINCIPALS: Readonly<Record<string, LocalPrincipal>> = {
  [LOCAL_CREDENTIALS.accessKeyId]: {
    secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey,
    arn: 'arn:aws:iam::000000000000:user/local',
  },
};

export type ApiInvoke = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

export interface ApiHostOptions {
  readonly principals?: Readonly<Record<string, LocalPrincipal>>;
  readonly log?: (entry: Record<string, unknown>) => void;
  readonly now?: () => Date;
}

export interface ApiHost {
  /** The API's URL with its stage, as the stack output `ApiUrl` gives it: `http://127.0.0.1:N/v1/`. */
  readonly url: string;
  stop(): Promise<void>;
}

/** API Gateway's refusal: 403, its message and error type. */
export class IamRefusal {
  constructor(
    readonly type: string,
    readonly message: string,
  ) {}
}

// AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/execute-api/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=<64 hex>
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
/** API Gateway refuses a signature whose date is more than 5 minutes off. */
const SKEW_MS = 5 * 60_000;

/**
 * The principal of a signed request, or the refusal API Gateway would answer. `url` is the
 * request's URL as the client addressed it (path as sent).
 */
export async function authorise(
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: string,
  principals: Readonly<Record<string, LocalPrincipal>>,
  now: Date,
): Promise<string | IamRefusal> {
  const authorization = headers.authorization;
  if (authorization === undefined || authorization === '')
    return new IamRefusal('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = AUTHORIZATION.exec(authorization);
  if (m === null)
    return new IamRefusal(
      'IncompleteSignatureException',
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters of an AWS4-HMAC-SHA256 signature: ${authorization.slice(0, 40)}`,
    );
  const [, keyId = '', day = '', region = '', service = '', signedList = '', signature] = m;
  if (service !== EXECUTE_API)
    return new IamRefusal(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${EXECUTE_API}'.`,
    );
  const principal = principals[keyId];
  if (principal === undefined)
    return new IamRefusal(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  const d = AMZ_DATE.exec(headers['x-amz-date'] ?? '');
  if (d === null || !day.startsWith(`${d[1]}${d[2]}${d[3]}`))
    return new IamRefusal(
      'IncompleteSignatureException',
      'X-Amz-Date is missing, malformed, or not the day of the credential scope.',
    );
  const signedAt = new Date(`${d[1]}-${d[2]}-${d[3]}T${d[4]}:${d[5]}:${d[6]}Z`);
  if (Math.abs(now.getTime() - signedAt.getTime()) > SKEW_MS)
    return new IamRefusal(
      'InvalidSignatureException',
      `Signature expired: ${headers['x-amz-date']} is not within 5 minutes of ${now.toISOString()}.`,
    );
  const names = signedList.split(';');
  if (!names.includes('host'))
    return new IamRefusal('InvalidSignatureException', "'Host' must be a signed header.");
  // The request signed again with the key's secret, over the headers it says it signed.
  const resigned = await signedHeaders(
    {
      method,
      url,
      headers: Object.fromEntries(
        names.filter((n) => n !== 'host' && n !== 'x-amz-date').map((n) => [n, headers[n] ?? '']),
      ),
      ...(body === '' ? {} : { body }),
    },
    { accessKeyId: keyId, secretAccessKey: principal.secretAccessKey },
    region,
    signedAt,
  );
  if (!(resigned.authorization ?? '').endsWith(`Signature=${signature}`))
    return new IamRefusal(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided.',
    );
  return principal.arn;
}

interface Matched {
  readonly resource: string;
  readonly pathParameters: Record<string, string>;
}

/** The route a method and path (after the stage) reach, with its raw path parameters. */
export function matchRoute(method: string, path: string): Matched | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const names: string[] = [];
    const pattern = route.path.replace(/\{([A-Za-z]+)\}|[^{]+/g, (part, name?: string) => {
      if (name === undefined) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      names.push(name);
      return '([^/]+)';
    });
    const m = new RegExp(`^${pattern}$`).exec(path);
    if (m === null) continue;
    return {
      resource: route.path,
      pathParameters: Object.fromEntries(names.map((n, i) => [n, m[i + 1] ?? ''])),
    };
  }
  return undefined;
}

function proxyEvent(
  req: IncomingMessage,
  url: URL,
  matched: Matched,
  headers: Record<string, string>,
  body: string,
  principal: string,
  accessKey: string,
): APIGatewayProxyEvent {
  const query: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v;
    multi[k] = [...(multi[k] ?? []), v];
  }
  const now = Date.now();
  const method = req.method ?? 'GET';
  return {
    resource: matched.resource,
    path: url.pathname.slice(API_STAGE.length + 1),
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: Object.keys(query).length === 0 ? null : query,
    multiValueQueryStringParameters: Object.keys(multi).length === 0 ? null : multi,
    pathParameters:
      Object.keys(matched.pathParameters).length === 0 ? null : matched.pathParameters,
    stageVariables: null,
    body: body === '' ? null : body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      path: url.pathname,
      stage: API_STAGE,
      requestId: crypto.randomUUID(),
      requestTimeEpoch: now,
      resourceId: 'local',
      resourcePath: matched.resource,
      identity: {
        accessKey,
        accountId: principal.split(':')[4] ?? null,
        apiKey: null,
        apiKeyId: null,
        caller: accessKey,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: accessKey,
        userAgent: headers['user-agent'] ?? null,
        userArn: principal,
      },
    },
  };
}

/** Serves the API on a loopback port, each allowed request answered by `invoke`. */
export async function startApiHost(
  invoke: ApiInvoke,
  options: ApiHostOptions = {},
): Promise<ApiHost> {
  const principals = options.principals ?? LOCAL_PRINCIPALS;
  const log = options.log ?? (() => undefined);
  const now = options.now ?? (() => new Date());
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.join(',') : (v ?? ''),
        ]),
      );
      const url = new URL(req.url ?? '/', `http://${headers.host ?? '127.0.0.1'}`);
      const refuse = (refusal: IamRefusal) => {
        log({ function: 'api', status: 403, refused: refusal.type });
        res.writeHead(403, {
          'content-type': 'application/json',
          'x-amzn-errortype': refusal.type,
        });
        res.end(JSON.stringify({ message: refusal.message }));
      };
      const method = req.method ?? 'GET';
      const stagePrefix = `/${API_STAGE}/`;
      // An unknown resource or method is refused before authorisation, as on a REST API.
      const matched = url.pathname.startsWith(stagePrefix)
        ? matchRoute(method, url.pathname.slice(stagePrefix.length - 1))
        : undefined;
      if (matched === undefined) {
        refuse(
          new IamRefusal('MissingAuthenticationTokenException', 'Missing Authentication Token'),
        );
        return;
      }
      authorise(method, url, headers, body, principals, now())
        .then(async (outcome) => {
          if (outcome instanceof IamRefusal) return refuse(outcome);
          const keyId = AUTHORIZATION.exec(headers.authorization ?? '')?.[1] ?? '';
          const result = await invoke(proxyEvent(req, url, matched, headers, body, outcome, keyId));
          log({ function: 'api', resource: matched.resource, status: result.statusCode });
          res.writeHead(result.statusCode, (result.headers ?? {}) as Record<string, string>);
          res.end(result.body);
        })
        .catch((error: Error) => {
          log({ function: 'api', error: error.message });
          // What API Gateway answers when the integration fails.
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: 'Internal server error' }));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${API_STAGE}/`;
  return {
    url,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
