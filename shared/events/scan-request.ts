/**
 * A ScanRequest is what every ingest path turns into before it reaches the scan use case. The
 * scan queue carries two kinds of message: ECR's EventBridge events as AWS sends them, and
 * Bosun's own `{"version":1,"request":{...}}` that the registry webhook sends.
 */
import * as z from 'zod';
import { InvalidEventError } from '../errors.js';
import { type EcrImageActionEvent, ecrImageActionEvent } from './ecr.js';
import { parseJsonEvent } from './parse.js';

export interface ScanRequest {
  readonly action: 'PUSH' | 'DELETE';
  readonly registry: string;
  readonly repository: string;
  readonly digest: string;
  readonly tag?: string;
  readonly manifestMediaType?: string;
  readonly artifactMediaType?: string;
  readonly eventTime: string;
  readonly eventId: string;
  readonly account?: string;
  readonly region?: string;
}

/**
 * The private registry host of an account and region:
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html
 * China regions use the amazonaws.com.cn domain.
 */
export function ecrRegistryHost(account: string, region: string): string {
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `${account}.dkr.ecr.${region}.${domain}`;
}

export function scanRequestFromEcrEvent(event: EcrImageActionEvent): ScanRequest {
  const d = event.detail;
  return {
    action: d['action-type'],
    registry: ecrRegistryHost(event.account, event.region),
    repository: d['repository-name'],
    digest: d['image-digest'],
    ...(d['image-tag'] === undefined ? {} : { tag: d['image-tag'] }),
    ...(d['manifest-media-type'] === undefined
      ? {}
      : { manifestMediaType: d['manifest-media-type'] }),
    ...(d['artifact-media-type'] === undefined
      ? {}
      : { artifactMediaType: d['artifact-media-type'] }),
    eventTime: event.time,
    eventId: event.id,
    account: event.account,
    region: event.region,
  };
}

const scanRequest = z
  .object({
    action: z.enum(['PUSH', 'DELETE']),
    registry: z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'host[:port]'),
    repository: z.string().min(1).max(255),
    digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'a sha256 digest'),
    tag: z.string().min(1).max(128).optional(),
    manifestMediaType: z.string().optional(),
    artifactMediaType: z.string().optional(),
    eventTime: z.string().min(1),
    eventId: z.string().min(1),
    account: z.string().optional(),
    region: z.string().optional(),
  })
  .strict();

export const scanRequestMessage = z
  .object({ version: z.literal(1), request: scanRequest })
  .strict();

/** The body Bosun sends to the scan queue for a request that did not come from EventBridge. */
export function scanRequestBody(request: ScanRequest): string {
  return JSON.stringify({ version: 1, request });
}

/**
 * Reads one scan-queue message body. Returns null for a well-formed event that asks for no work
 * (a failed push), and throws InvalidEventError for anything malformed.
 */
export function parseScanMessage(body: string): ScanRequest | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidEventError('scan queue', [`body is not JSON: ${(error as Error).message}`]);
  }
  // EventBridge events carry `detail-type` (and a string `version` of their own).
  if (json !== null && typeof json === 'object' && !('detail-type' in json))
    return parseJsonEvent(scanRequestMessage, 'scan request', body).request;
  const event = parseJsonEvent(ecrImageActionEvent, 'ECR Image Action', body);
  if (event.detail.result !== 'SUCCESS') return null;
  return scanRequestFromEcrEvent(event);
}
