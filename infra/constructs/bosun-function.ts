import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The Lambda runtime every Bosun function runs on. */
export const BOSUN_RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface BosunFunctionProps {
  /** Folder under `functions/` that holds the handler's `index.ts`. */
  readonly handlerDir: 'scan' | 'rescan' | 'feed-sync' | 'registry-webhook';
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly removalPolicy: RemovalPolicy;
  /** Ephemeral /tmp size in MiB. @default 512 */
  readonly ephemeralStorageMiB?: number;
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
  readonly function: nodejs.NodejsFunction;
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
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, 'functions', props.handlerDir, 'index.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: BOSUN_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize,
      ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMiB ?? 512),
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
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // Every dependency is pinned in package-lock.json; bundling the AWS SDK too keeps the
        // code that runs in Lambda the code that was tested.
        bundleAwsSDK: true,
        forceDockerBundling: false,
        // ESM bundles of CommonJS dependencies need a `require`.
        banner:
          "import { createRequire as __bosunCreateRequire } from 'node:module';const require = __bosunCreateRequire(import.meta.url);",
        mainFields: ['module', 'main'],
        // Optional plugins of the CycloneDX library (XML output, schema validation) that Bosun
        // does not use: the library loads them only if present.
        externalModules: [
          'xmlbuilder2',
          'libxmljs2',
          'ajv',
          'ajv-formats',
          'ajv-formats-draft2019',
        ],
      },
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
