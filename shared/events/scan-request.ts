/**
 * A ScanRequest is what every ingest path (ECR EventBridge events today, registry webhooks
 * later) turns into before it reaches the scan use case.
 */
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

/**
 * Reads one scan-queue message body. Returns null for a well-formed event that asks for no work
 * (a failed push), and throws InvalidEventError for anything malformed.
 */
export function parseScanMessage(body: string): ScanRequest | null {
  const event = parseJsonEvent(ecrImageActionEvent, 'ECR Image Action', body);
  if (event.detail.result !== 'SUCCESS') return null;
  return scanRequestFromEcrEvent(event);
}
