import { describe, expect, it } from 'vitest';
import { ConfigError, ENV_VARS, loadConfig } from '../../../shared/config/env.js';

const valid = {
  BOSUN_IMAGES_TABLE: 'Bosun-Images-1A2B',
  BOSUN_SCAN_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Bosun-ScanQueue',
  BOSUN_FINDINGS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:Bosun-FindingsTopic',
  BOSUN_REPORTS_BUCKET: 'bosun-reportsbucket-1a2b3c',
  AWS_REGION: 'eu-west-1',
};

describe('loadConfig', () => {
  it('returns the typed values of the requested keys', () => {
    const config = loadConfig(
      ['imagesTable', 'scanQueueUrl', 'findingsTopicArn', 'reportsBucket', 'region'],
      valid,
    );
    expect(config).toEqual({
      imagesTable: 'Bosun-Images-1A2B',
      scanQueueUrl: valid.BOSUN_SCAN_QUEUE_URL,
      findingsTopicArn: valid.BOSUN_FINDINGS_TOPIC_ARN,
      reportsBucket: 'bosun-reportsbucket-1a2b3c',
      region: 'eu-west-1',
    });
  });

  it('names every missing variable in one error', () => {
    const error = (() => {
      try {
        loadConfig(['imagesTable', 'findingsTable', 'rescanQueueUrl'], valid);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'BOSUN_FINDINGS_TABLE is not set',
      'BOSUN_RESCAN_QUEUE_URL is not set',
    ]);
    expect((error as Error).message).toContain('BOSUN_FINDINGS_TABLE is not set');
  });

  it('treats an empty variable as missing', () => {
    expect(() => loadConfig(['imagesTable'], { BOSUN_IMAGES_TABLE: '' })).toThrow(
      'BOSUN_IMAGES_TABLE is not set',
    );
  });

  it('rejects malformed values, quoting the variable and the value', () => {
    expect(() =>
      loadConfig(['findingsTopicArn'], { BOSUN_FINDINGS_TOPIC_ARN: 'findings' }),
    ).toThrow('BOSUN_FINDINGS_TOPIC_ARN="findings" is not valid (an SNS topic ARN)');
    expect(() => loadConfig(['scanQueueUrl'], { BOSUN_SCAN_QUEUE_URL: 'ftp://queue' })).toThrow(
      /BOSUN_SCAN_QUEUE_URL="ftp:\/\/queue" is not valid/,
    );
    expect(() => loadConfig(['reportsBucket'], { BOSUN_REPORTS_BUCKET: 'Upper_Case' })).toThrow(
      /an S3 bucket name/,
    );
    expect(() => loadConfig(['region'], { AWS_REGION: 'mars' })).toThrow(/AWS_REGION="mars"/);
  });

  it('leaves endpoint overrides optional and validates them when set', () => {
    expect(loadConfig(['dynamodbEndpoint'], {})).toEqual({ dynamodbEndpoint: undefined });
    expect(
      loadConfig(['dynamodbEndpoint'], { BOSUN_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }),
    ).toEqual({
      dynamodbEndpoint: 'http://127.0.0.1:8000',
    });
    expect(() => loadConfig(['sqsEndpoint'], { BOSUN_SQS_ENDPOINT: 'not a url' })).toThrow(
      /BOSUN_SQS_ENDPOINT/,
    );
  });

  it('uses one distinct variable per key', () => {
    const names = Object.values(ENV_VARS);
    expect(new Set(names).size).toBe(names.length);
  });
});
