import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_KEYS } from '../../shared/stores/dynamodb/keys.js';

export { TABLE_KEYS };

export interface BosunTablesProps {
  readonly removalPolicy: RemovalPolicy;
}

interface IndexSpec {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
}

/** The four tables: images, inventories, advisories, findings. */
export class BosunTables extends Construct {
  readonly images: dynamodb.Table;
  readonly inventories: dynamodb.Table;
  readonly advisories: dynamodb.Table;
  readonly findings: dynamodb.Table;

  constructor(scope: Construct, id: string, props: BosunTablesProps) {
    super(scope, id);
    this.images = this.table('Images', props, TABLE_KEYS.images.byRepository, false);
    this.inventories = this.table('Inventories', props, TABLE_KEYS.inventories.byPackage, true);
    this.advisories = this.table('Advisories', props, TABLE_KEYS.advisories.byPackage, true);
    this.findings = this.table('Findings', props, TABLE_KEYS.findings.byAdvisory, true);
  }

  private table(
    id: string,
    props: BosunTablesProps,
    index: IndexSpec,
    expires: boolean,
  ): dynamodb.Table {
    const table = new dynamodb.Table(this, id, {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy,
      ...(expires ? { timeToLiveAttribute: TABLE_KEYS.ttl } : {}),
    });
    table.addGlobalSecondaryIndex({
      indexName: index.name,
      partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    return table;
  }
}
