import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ImageScanner, type ImageScannerProps } from './constructs/image-scanner.js';

export interface BosunStackProps extends StackProps {
  readonly scanner?: ImageScannerProps;
}

/** The deployable stack: one ImageScanner and the outputs an operator needs. */
export class BosunStack extends Stack {
  readonly scanner: ImageScanner;

  constructor(scope: Construct, id: string, props: BosunStackProps = {}) {
    super(scope, id, props);
    this.scanner = new ImageScanner(this, 'Scanner', props.scanner);
    new CfnOutput(this, 'FindingsTopicArn', { value: this.scanner.findingsTopic.topicArn });
    // Where events go (docs/integrations.md), and the operations dashboard.
    if (this.scanner.eventBusName !== undefined)
      new CfnOutput(this, 'EventBusName', { value: this.scanner.eventBusName });
    new CfnOutput(this, 'DashboardName', { value: this.scanner.dashboard.dashboardName });
    new CfnOutput(this, 'ReportsBucketName', { value: this.scanner.reportsBucket.bucketName });
    new CfnOutput(this, 'ScanQueueUrl', { value: this.scanner.scanQueue.queue.queueUrl });
    new CfnOutput(this, 'ImagesTableName', { value: this.scanner.tables.images.tableName });
    new CfnOutput(this, 'FindingsTableName', { value: this.scanner.tables.findings.tableName });
    // The read API's base URL, its stage included (docs/api.md).
    new CfnOutput(this, 'ApiUrl', { value: this.scanner.api.url });
    // What `aws lambda invoke` starts a backfill with (docs/audit.md).
    new CfnOutput(this, 'BackfillFunctionName', {
      value: this.scanner.backfillFunction.function.functionName,
    });
    if (this.scanner.webhookUrl !== undefined)
      new CfnOutput(this, 'RegistryWebhookUrl', { value: this.scanner.webhookUrl.url });
    // One output per registry: `host=<secret ARN>`, the secret to configure in that registry.
    if (this.scanner.webhookSecrets.size > 0)
      new CfnOutput(this, 'RegistryWebhookSecretArns', {
        value: [...this.scanner.webhookSecrets]
          .map(([host, secret]) => `${host}=${secret.secretArn}`)
          .join(','),
      });
  }
}
