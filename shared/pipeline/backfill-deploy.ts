/**
 * The deploy-time step (docs/audit.md, "Backfill in the deployment"): CloudFormation invokes the
 * backfill function with a custom resource request (shared/events/custom-resource.ts) when the
 * stack is created, and again only when the resource's properties change. The step
 * 1. registers the pull-time update exclusion of each IAM role that pulls for Bosun (the scan's,
 *    the provenance pass's), so Bosun's pulls do not make images look in use;
 * 2. records the deploy-time backfill, on Create, or on an Update whose backfill id changed (the
 *    same id, whatever else changed, is the backfill already recorded: a stack update never
 *    starts one the `backfill` prop did not ask for);
 * 3. answers CloudFormation.
 * Nothing here fails the deployment: a refused exclusion or a backfill that could not be
 * recorded is logged, and the answer is SUCCESS; a backfill is started again by hand with the
 * documented message. The caller then works on the backfill the step returns, after the answer.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { BackfillRequest } from '../events/backfill.js';
import {
  type CustomResourceResponse,
  customResourceResponse,
  DEPLOY_TIME_PROPERTIES,
  type DeployTimeProperties,
  type DeployTimeRequest,
} from '../events/custom-resource.js';
import { ensurePullTimeExclusion } from '../registry/pull-time-exclusion.js';
import { BackfillConflictError, type BackfillDeps, startBackfill } from './backfill.js';

export interface DeployTimeLog {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface DeployTimeDeps {
  readonly backfill: BackfillDeps;
  readonly ecr: ECRClient;
  readonly log: DeployTimeLog;
  /** Sends the response body to the request's URL. @default an HTTPS PUT (putResponse) */
  readonly respond?: (url: string, response: CustomResourceResponse) => Promise<void>;
}

export interface DeployTimeOutcome {
  readonly response: CustomResourceResponse;
  /** The backfill to work on now, if one was recorded and is not done. */
  readonly backfill?: BackfillRequest;
}

/**
 * PUTs the response to CloudFormation's pre-signed S3 URL. The body goes with an empty
 * Content-Type, as AWS's own cfn-response module sends it: a signature may cover the header.
 */
export function putResponse(url: string, response: CustomResourceResponse): Promise<void> {
  const body = JSON.stringify(response);
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'PUT',
        headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
        timeout: 30_000,
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          (res.statusCode ?? 0) < 300
            ? resolve()
            : reject(new Error(`CloudFormation response URL answered ${res.statusCode}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('CloudFormation response URL timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

const scopeOf = (p: Partial<DeployTimeProperties>) => ({
  ...(p[DEPLOY_TIME_PROPERTIES.repositories] === undefined
    ? {}
    : { repositories: p[DEPLOY_TIME_PROPERTIES.repositories] }),
  ...(p[DEPLOY_TIME_PROPERTIES.prefixes] === undefined
    ? {}
    : { prefixes: p[DEPLOY_TIME_PROPERTIES.prefixes] }),
});

/** Registers each role's exclusion; every outcome is logged, none thrown. */
async function ensureExclusions(deps: DeployTimeDeps, principals: readonly string[]) {
  const outcomes: string[] = [];
  for (const principalArn of principals) {
    try {
      const outcome = await ensurePullTimeExclusion(deps.ecr, principalArn, deps.log);
      deps.log.info('pull-time exclusion', { principalArn, status: outcome.status });
      outcomes.push(outcome.status);
    } catch (error) {
      // ECR's server errors and the network: the scans work without the exclusion.
      deps.log.warn('pull-time exclusion not registered', {
        principalArn,
        error: (error as Error).message,
      });
      outcomes.push('failed');
    }
  }
  return outcomes;
}

/** The backfill the request asks to start, or none (Delete, no id, an Update with the same id). */
function requestedBackfill(request: DeployTimeRequest): BackfillRequest | undefined {
  if (request.RequestType === 'Delete') return undefined;
  const id = request.ResourceProperties[DEPLOY_TIME_PROPERTIES.backfillId];
  if (id === undefined) return undefined;
  if (
    request.RequestType === 'Update' &&
    request.OldResourceProperties[DEPLOY_TIME_PROPERTIES.backfillId] === id
  )
    return undefined;
  return { id, ...scopeOf(request.ResourceProperties) };
}

/** Records the backfill; undefined when it is done already or could not be recorded (logged). */
async function recordBackfill(
  deps: DeployTimeDeps,
  request: BackfillRequest,
): Promise<BackfillRequest | undefined> {
  try {
    const status = await startBackfill(deps.backfill, request);
    if (status.phase === 'DONE') {
      deps.log.info('deploy-time backfill already done', { backfillId: request.id });
      return undefined;
    }
    return { id: request.id, ...status.scope };
  } catch (error) {
    const fields = { backfillId: request.id, error: (error as Error).message };
    // A retained images table can hold a backfill of this id from an earlier stack.
    if (error instanceof BackfillConflictError)
      deps.log.warn('deploy-time backfill not started: the id names another scope', fields);
    else deps.log.error('deploy-time backfill not recorded', fields);
    return undefined;
  }
}

/** Handles one custom resource request and answers CloudFormation (always SUCCESS). */
export async function deployTimeStep(
  deps: DeployTimeDeps,
  request: DeployTimeRequest,
): Promise<DeployTimeOutcome> {
  const physicalResourceId =
    request.RequestType === 'Create' ? request.LogicalResourceId : request.PhysicalResourceId;
  const data: Record<string, string> = {};
  let backfill: BackfillRequest | undefined;
  if (request.RequestType !== 'Delete') {
    const principals = request.ResourceProperties[DEPLOY_TIME_PROPERTIES.excludedPrincipals] ?? [];
    data.Exclusions = (await ensureExclusions(deps, principals)).join(',');
    const asked = requestedBackfill(request);
    if (asked !== undefined) {
      backfill = await recordBackfill(deps, asked);
      data.BackfillId = asked.id;
    }
    if (asked === undefined && request.RequestType === 'Update')
      deps.log.info('deploy-time backfill not started again: its id did not change', {
        backfillId: request.ResourceProperties[DEPLOY_TIME_PROPERTIES.backfillId],
      });
  }
  const response = customResourceResponse(request, {
    status: 'SUCCESS',
    physicalResourceId,
    data,
  });
  await (deps.respond ?? putResponse)(request.ResponseURL, response);
  deps.log.info('deploy-time step answered', {
    requestType: request.RequestType,
    ...data,
  });
  return { response, ...(backfill === undefined ? {} : { backfill }) };
}
