/**
 * One request through the route table to a response: the route by method and resource path,
 * typed errors to their status with a JSON body, anything else to a bare 500 (the caller sees
 * no message or stack; the handler logs it). Bodies are stable JSON: object keys sorted, so
 * the same state always reads as the same bytes.
 */
import type { ApiDeps } from './deps.js';
import { ApiError, BadRequestError, NotFoundError } from './errors.js';
import { type ApiRequest, ROUTES } from './routes.js';

export interface ApiResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** JSON with every object's keys in sorted order (arrays keep theirs). */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : v,
  );
}

const HEADERS = {
  'content-type': 'application/json',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

const respond = (statusCode: number, body?: unknown): ApiResponse => ({
  statusCode,
  headers: HEADERS,
  body: body === undefined ? '' : stableJson(body),
});

export function errorResponse(error: unknown, requestId?: string): ApiResponse {
  if (error instanceof ApiError)
    return respond(error.status, {
      error: error.code,
      message: error.message,
      ...(error instanceof BadRequestError ? { problems: error.problems } : {}),
    });
  return respond(500, {
    error: 'InternalError',
    message: 'internal error',
    ...(requestId === undefined ? {} : { requestId }),
  });
}

/** Answers one request; throws nothing (an unexpected error is reported through `onError`). */
export async function handleApiRequest(
  request: ApiRequest,
  deps: ApiDeps,
  onError: (error: unknown) => void = () => {},
  requestId?: string,
): Promise<ApiResponse> {
  try {
    const route = ROUTES.find((r) => r.method === request.method && r.path === request.resource);
    if (route === undefined)
      throw new NotFoundError(`no route ${request.method} ${request.resource}`);
    const result = await route.run(deps, request);
    return respond(result.status, result.body);
  } catch (error) {
    if (!(error instanceof ApiError)) onError(error);
    return errorResponse(error, requestId);
  }
}
