/**
 * Sends changed package keys to the rescan queue: deduplicated within a run, packed into
 * messages under SQS's 256 KiB limit and at most 500 changes each, ten messages per
 * SendMessageBatch, failed entries retried.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BosunError } from '../errors.js';
import type { PackageChange, RescanMessage } from '../events/rescan.js';

export class RescanPublishError extends BosunError {
  readonly fatal = true;
}

const MAX_CHANGES = 500;
const MAX_BYTES = 200 * 1024;

export class RescanPublisher {
  private readonly seen = new Set<string>();
  sent = 0;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly source: string,
  ) {}

  /** Messages for the changes not yet sent in this run. */
  messages(changes: readonly PackageChange[]): RescanMessage[] {
    const out: RescanMessage[] = [];
    let current: PackageChange[] = [];
    let bytes = 0;
    for (const change of changes) {
      const key = `${change.change}\u0000${change.ecosystem}\u0000${change.name}\u0000${change.advisoryIds.join(',')}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      const size = JSON.stringify(change).length + 1;
      if (current.length === MAX_CHANGES || (current.length > 0 && bytes + size > MAX_BYTES)) {
        out.push({ version: 1, source: this.source, changes: current });
        current = [];
        bytes = 0;
      }
      current.push(change);
      bytes += size;
    }
    if (current.length > 0) out.push({ version: 1, source: this.source, changes: current });
    return out;
  }

  readonly deliver = async (changes: readonly PackageChange[]): Promise<void> => {
    const messages = this.messages(changes);
    for (let i = 0; i < messages.length; i += 10) {
      let entries = messages
        .slice(i, i + 10)
        .map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) }));
      for (let attempt = 0; entries.length > 0; attempt++) {
        if (attempt === 5)
          throw new RescanPublishError(
            `${entries.length} rescan messages not accepted by ${this.queueUrl} after 5 attempts`,
          );
        const out = await this.sqs.send(
          new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
        );
        const failed = new Set((out.Failed ?? []).map((f) => f.Id));
        entries = entries.filter((e) => failed.has(e.Id));
      }
    }
    this.sent += messages.length;
  };
}
