import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

import { type HandlerDir, LAMBDA_BUNDLING } from '../lambda-bundling.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = path.resolve(HERE, '..', '..');

/** Set by scripts/build-package.ts in the published package, whose handlers are prebuilt. */
declare const __BOSUN_PACKAGED__: boolean | undefined;

/**
 * Where the published package keeps its handlers, bundled when it was built (dist/lambda/<dir>,
 * beside the construct's own dist/infra); undefined in a checkout, which bundles them at synth.
 */
const PREBUILT_HANDLERS =
  typeof __BOSUN_PACKAGED__ !== 'undefined' && __BOSUN_PACKAGED__
    ? path.join(HERE, '..', 'lambda')
    : undefined;

/** The Lambda runtime every Bosun function runs on. */
export const BOSUN_RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface BosunFunctionProps {
  /** Folder under `functions/` that holds the handler's `index.ts`. */
  readonly handlerDir: HandlerDir;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly removalPolicy: RemovalPolicy;
  /** Ephemeral /tmp size in MiB. @default 512 */
  readonly ephemeralStorageMiB?: number;
  /** Concurrency reserved for (and capping) this function. @default none: the account's pool */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Lambda's recursive loop detection for this function: `ALLOW` only for a function that
   * invokes itself on purpose, with guard rails of its own. @default RecursiveLoop.TERMINATE
   */
  readonly recursiveLoop?: lambda.RecursiveLoop;
}

/** The settings every Bosun function of one deployment shares. */
export type BosunFunctionDefaults = Pick<
  BosunFunctionProps,
  'logRetention' | 'logLevel' | 'removalPolicy'
>;

/**
 * A Bosun Lambda function: bundled by the local esbuild (never Docker), arm64, its own log
 * group with retention, and a role that can write only to that log group (no managed policy).
 */
export class BosunFunction extends Construct {
  readonly function: lambda.Function;
  readonly errorsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: BosunFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs Bosun's ${props.handlerDir} function`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    // What both ways of building the function share: all but the code and its handler name.
    const common = {
      runtime: BOSUN_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize,
      ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMiB ?? 512),
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      ...(props.recursiveLoop === undefined ? {} : { recursiveLoop: props.recursiveLoop }),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: `bosun-${props.handlerDir}`,
        POWERTOOLS_LOG_LEVEL: props.logLevel,
        POWERTOOLS_METRICS_NAMESPACE: 'Bosun',
        NODE_OPTIONS: '--enable-source-maps',
      },
    } satisfies Omit<lambda.FunctionProps, 'code' | 'handler'>;
    this.function =
      PREBUILT_HANDLERS === undefined
        ? new nodejs.NodejsFunction(this, 'Function', {
            ...common,
            entry: path.join(PROJECT_ROOT, 'functions', props.handlerDir, 'index.ts'),
            handler: 'handler',
            projectRoot: PROJECT_ROOT,
            depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
            bundling: {
              format: nodejs.OutputFormat.ESM,
              target: LAMBDA_BUNDLING.target,
              minify: LAMBDA_BUNDLING.minify,
              sourceMap: LAMBDA_BUNDLING.sourceMap,
              sourcesContent: LAMBDA_BUNDLING.sourcesContent,
              // Every dependency is pinned in package-lock.json; bundling the AWS SDK too keeps
              // the code that runs in Lambda the code that was tested.
              bundleAwsSDK: true,
              forceDockerBundling: false,
              banner: LAMBDA_BUNDLING.banner,
              mainFields: [...LAMBDA_BUNDLING.mainFields],
              externalModules: [...LAMBDA_BUNDLING.externalModules],
            },
          })
        : new lambda.Function(this, 'Function', {
            ...common,
            code: lambda.Code.fromAsset(path.join(PREBUILT_HANDLERS, props.handlerDir)),
            handler: 'index.handler',
          });
    this.errorsAlarm = this.function
      .metricErrors({ period: Duration.minutes(5) })
      .createAlarm(this, 'ErrorsAlarm', {
        alarmDescription: `Bosun ${props.handlerDir} function reported errors in ${Stack.of(this).stackName}`,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
  }
}
