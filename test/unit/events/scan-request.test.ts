import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../../shared/errors.js';
import {
  ecrRegistryHost,
  parseScanMessage,
  scanRequestBody,
} from '../../../shared/events/scan-request.js';
import { fixtureText } from '../../support/fixtures.js';

describe('parseScanMessage', () => {
  it('turns an ECR push event into a scan request for the registry of its account and region', () => {
    expect(parseScanMessage(fixtureText('events/ecr-image-action/push.json'))).toEqual({
      action: 'PUSH',
      registry: '123456789012.dkr.ecr.us-west-2.amazonaws.com',
      repository: 'my-repository-name',
      digest: 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd',
      tag: 'latest',
      eventTime: '2019-11-16T01:54:34Z',
      eventId: '13cde686-328b-6117-af20-0e5566167482',
      account: '123456789012',
      region: 'us-west-2',
    });
  });

  it('keeps the manifest and artifact media types newer events carry', () => {
    const request = parseScanMessage(
      fixtureText('events/ecr-image-action/push-with-media-types.json'),
    );
    expect(request?.manifestMediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(request?.artifactMediaType).toBe('application/vnd.oci.image.config.v1+json');
    expect(request?.repository).toBe('team-a/web');
  });

  it('reads a delete event as a DELETE request', () => {
    expect(parseScanMessage(fixtureText('events/ecr-image-action/delete.json'))?.action).toBe(
      'DELETE',
    );
  });

  it('asks for no work when the push failed', () => {
    expect(parseScanMessage(fixtureText('events/ecr-image-action/push-failed.json'))).toBeNull();
  });

  it('rejects a digest that is not 64 hex digits, naming the field', () => {
    expect(() => parseScanMessage(fixtureText('events/ecr-image-action/bad-digest.json'))).toThrow(
      /invalid ECR Image Action event: detail\.image-digest: an image digest/,
    );
  });

  it('rejects a body that is not JSON with a typed, recoverable error', () => {
    let error: unknown;
    try {
      parseScanMessage('{"version": "0",');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as InvalidEventError).fatal).toBe(false);
    expect((error as Error).message).toContain('body is not JSON');
  });

  it('rejects events of other sources', () => {
    const other = JSON.parse(fixtureText('events/ecr-image-action/push.json'));
    other.source = 'aws.s3';
    expect(() => parseScanMessage(JSON.stringify(other))).toThrow(/source/);
  });
});

describe('ecrRegistryHost', () => {
  it('uses the China domain in China regions', () => {
    expect(ecrRegistryHost('123456789012', 'cn-north-1')).toBe(
      '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
    );
    expect(ecrRegistryHost('123456789012', 'eu-central-1')).toBe(
      '123456789012.dkr.ecr.eu-central-1.amazonaws.com',
    );
  });
});

describe('Bosun scan-request messages on the scan queue', () => {
  const request = {
    action: 'PUSH' as const,
    registry: '127.0.0.1:5000',
    repository: 'team/app',
    digest: `sha256:${'c'.repeat(64)}`,
    tag: '1.0',
    eventTime: '2026-11-29T00:57:40Z',
    eventId: '0627e6be-e347-49e0-9ce6-0cc94b1c542e',
  };

  it('reads back what the webhook sends', () => {
    expect(parseScanMessage(scanRequestBody(request))).toEqual(request);
  });

  it('refuses unknown fields and bad digests, naming them', () => {
    expect(() => parseScanMessage(JSON.stringify({ version: 1, request, extra: 1 }))).toThrow(
      /Unrecognized key/,
    );
    expect(() => parseScanMessage(scanRequestBody({ ...request, digest: 'sha256:abc' }))).toThrow(
      /request\.digest/,
    );
    expect(() => parseScanMessage('not json')).toThrow(InvalidEventError);
  });
});
