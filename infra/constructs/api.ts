import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { routeDeclarations } from '../../shared/api/route-table.js';
import { ENV_VARS } from '../../shared/config/env.js';
import { BosunFunction, type BosunFunctionDefaults } from './bosun-function.js';
import { acknowledgeIndexGrants } from './nag.js';
import type { BosunTables } from './tables.js';

export interface ApiProps {
  readonly functionDefaults: BosunFunctionDefaults;
  readonly tables: BosunTables;
  /** Report and SBOM links name objects of this bucket; the API reads none of them. */
  readonly reportsBucketName: string;
  /** Where a suppression or VEX document put or deleted sends the rescans it asks for. */
  readonly rescanQueue: sqs.IQueue;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export interface Api {
  readonly restApi: apigateway.RestApi;
  readonly function: BosunFunction;
}

/** The only partitions of the findings table the API may write (docs/data-model.md). */
export const API_WRITABLE_PARTITIONS = ['SUPPRESS#*', 'VEX#*', 'EXPIRY#*'];

/** The stage every route is deployed to; execute-api ARNs name it (docs/api.md). */
export const API_STAGE = 'v1';

/**
 * The read API (docs/api.md): a REST API whose every method is `AWS_IAM` authorised (SigV4;
 * callers need `execute-api:Invoke` on the route's ARN), one proxy-integrated function, the
 * resources and methods of shared/api/route-table.ts and nothing else, and JSON access logs.
 * The function reads the images, findings and advisories tables; the only items it may write
 * are suppressions and VEX documents with their expiry markers (`SUPPRESS#…`, `VEX#…`,
 * `EXPIRY#…` partitions of the findings table), and it may send the rescan queue the rescans
 * they ask for.
 */
export function buildApi(scope: Construct, props: ApiProps): Api {
  const { images, findings, advisories } = props.tables;
  const fn = new BosunFunction(scope, 'Api', {
    ...props.functionDefaults,
    handlerDir: 'api',
    timeout: Duration.seconds(29),
    memorySize: 512,
    environment: {
      [ENV_VARS.imagesTable]: images.tableName,
      [ENV_VARS.findingsTable]: findings.tableName,
      [ENV_VARS.advisoriesTable]: advisories.tableName,
      [ENV_VARS.reportsBucket]: props.reportsBucketName,
      [ENV_VARS.rescanQueueUrl]: props.rescanQueue.queueUrl,
    },
  });
  props.rescanQueue.grantSendMessages(fn.function);
  for (const table of [images, findings, advisories]) table.grantReadData(fn.function);
  acknowledgeIndexGrants(fn, [images, findings, advisories]);
  // Writes only suppressions, VEX documents and their expiry markers (SUPPRESS#, VEX#, EXPIRY#
  // partitions): dynamodb:LeadingKeys is the partition key of every item a request touches,
  // each item of a TransactWriteItems checked as its own PutItem or DeleteItem
  // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
  fn.function.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resources: [findings.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': API_WRITABLE_PARTITIONS },
      },
    }),
  );

  const accessLogs = new logs.LogGroup(scope, 'ApiAccessLogs', {
    retention: props.logRetention,
    removalPolicy: props.removalPolicy,
  });
  const restApi = new apigateway.RestApi(scope, 'ReadApi', {
    description:
      "Bosun's read API: images, findings, vulnerabilities, suppressions (IAM authorised)",
    endpointTypes: [apigateway.EndpointType.REGIONAL],
    cloudWatchRole: false,
    deployOptions: {
      stageName: API_STAGE,
      accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
      accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
      throttlingRateLimit: 50,
      throttlingBurstLimit: 100,
    },
    defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
  });
  const integration = new apigateway.LambdaIntegration(fn.function, { proxy: true });
  const validator = restApi.addRequestValidator('Parameters', { validateRequestParameters: true });
  for (const route of routeDeclarations()) {
    const resource = restApi.root.resourceForPath(route.path);
    const pathParameters = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
    resource.addMethod(route.method, integration, {
      authorizationType: apigateway.AuthorizationType.IAM,
      requestValidator: validator,
      requestParameters: Object.fromEntries(
        pathParameters.map((p) => [`method.request.path.${p}`, true]),
      ),
    });
  }
  acknowledgeApi(restApi);
  return { restApi, function: fn };
}

function acknowledgeApi(restApi: apigateway.RestApi): void {
  const acks: [string, string][] = [
    [
      'AwsSolutions-APIG2',
      'API Gateway requires the path parameters; every parameter and body is validated by the function (zod, a 400 naming each field), which a model would only repeat.',
    ],
    [
      'AwsSolutions-APIG3',
      'Every method requires SigV4 (AWS_IAM); a WAF web ACL can be associated with the stage by the operator if wanted.',
    ],
    [
      'AwsSolutions-APIG6',
      'Access logs are on; execution logs need the account-wide API Gateway CloudWatch role, an account setting Bosun does not change.',
    ],
    [
      'AwsSolutions-COG4',
      'Callers are IAM principals authorised with AWS_IAM (SigV4), not Cognito users; per-repository access is an IAM policy (docs/api.md).',
    ],
  ];
  for (const c of [restApi, restApi.deploymentStage])
    for (const [id, reason] of acks) Validations.of(c).acknowledge({ id, reason });
}
