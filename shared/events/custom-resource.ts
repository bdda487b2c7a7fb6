/**
 * The deploy-time step's CloudFormation custom resource: the request CloudFormation sends the
 * backfill function on stack create, update and delete, and the response it waits for at the
 * request's pre-signed `ResponseURL`.
 *
 * - Request fields: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html
 *   (`ResourceProperties` holds the properties as the template gives them, strings and lists of
 *   strings, plus `ServiceToken`; `OldResourceProperties` only on Update).
 * - Response fields: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
 *   (`Reason` is required when FAILED; the whole body at most 4096 bytes).
 *
 * The properties are the ones infra/constructs/backfill.ts writes (DEPLOY_TIME_PROPERTIES): the
 * deploy-time backfill's id and scope, and the IAM roles whose pulls must not update ECR's pull
 * times.
 */
import * as z from 'zod';
import { backfillScope } from './backfill.js';
import { parseEvent } from './parse.js';

/** Property names of the deploy-time resource, shared with the construct so they cannot drift. */
export const DEPLOY_TIME_PROPERTIES = {
  backfillId: 'BackfillId',
  repositories: 'Repositories',
  prefixes: 'Prefixes',
  excludedPrincipals: 'ExcludedPrincipals',
} as const;

/** The resource type the construct gives it, so the handler knows the request is its own. */
export const DEPLOY_TIME_RESOURCE_TYPE = 'Custom::BosunDeployTime';

const properties = z.object({
  ServiceToken: z.string().min(1),
  [DEPLOY_TIME_PROPERTIES.backfillId]: z.string().optional(),
  [DEPLOY_TIME_PROPERTIES.repositories]: backfillScope.shape.repositories,
  [DEPLOY_TIME_PROPERTIES.prefixes]: backfillScope.shape.prefixes,
  [DEPLOY_TIME_PROPERTIES.excludedPrincipals]: z.array(z.string().min(1)).max(20).optional(),
});

const common = {
  ResponseURL: z.url({ protocol: /^https?$/ }),
  StackId: z.string().min(1),
  RequestId: z.string().min(1),
  ResourceType: z.literal(DEPLOY_TIME_RESOURCE_TYPE),
  LogicalResourceId: z.string().min(1),
  ResourceProperties: properties,
};

export const deployTimeRequest = z.discriminatedUnion('RequestType', [
  z.object({ RequestType: z.literal('Create'), ...common }),
  z.object({
    RequestType: z.literal('Update'),
    ...common,
    PhysicalResourceId: z.string().min(1),
    OldResourceProperties: properties.partial({ ServiceToken: true }),
  }),
  z.object({ RequestType: z.literal('Delete'), ...common, PhysicalResourceId: z.string().min(1) }),
]);

export type DeployTimeRequest = z.infer<typeof deployTimeRequest>;
export type DeployTimeProperties = z.infer<typeof properties>;

/**
 * Whether an invocation payload is a CloudFormation custom resource request (it has a
 * RequestType and a ResponseURL), as opposed to the documented backfill message.
 */
export function isCustomResourceRequest(value: unknown): boolean {
  return (
    value !== null && typeof value === 'object' && 'RequestType' in value && 'ResponseURL' in value
  );
}

/** Validates a custom resource request; throws InvalidEventError naming the field. */
export function parseDeployTimeRequest(value: unknown): DeployTimeRequest {
  return parseEvent(deployTimeRequest, 'CloudFormation custom resource', value);
}

export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Readonly<Record<string, string>>;
}

/** The response body for a request; `Reason` is cut to keep the body under CloudFormation's 4 KB. */
export function customResourceResponse(
  request: DeployTimeRequest,
  outcome: {
    readonly status: 'SUCCESS' | 'FAILED';
    readonly physicalResourceId: string;
    readonly reason?: string;
    readonly data?: Readonly<Record<string, string>>;
  },
): CustomResourceResponse {
  return {
    Status: outcome.status,
    ...(outcome.reason === undefined ? {} : { Reason: outcome.reason.slice(0, 1000) }),
    PhysicalResourceId: outcome.physicalResourceId,
    StackId: request.StackId,
    RequestId: request.RequestId,
    LogicalResourceId: request.LogicalResourceId,
    ...(outcome.data === undefined ? {} : { Data: outcome.data }),
  };
}
