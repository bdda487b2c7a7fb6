/**
 * Sends changed package keys to the rescan queue: deduplicated within a run, packed into
 * messages under SQS's 256 KiB limit and at most 500 changes each (queues/send.ts sends them).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { PackageChange, RescanMessage } from '../events/rescan.js';
import { sendMessages } from '../queues/send.js';

const MAX_CHANGES = 500;
const MAX_BYTES = 200 * 1024;

/** Package changes as rescan messages: at most 500 changes and about 200 KiB each. */
export function packChanges(changes: readonly PackageChange[], source: string): RescanMessage[] {
  const out: RescanMessage[] = [];
  let current: PackageChange[] = [];
  let bytes = 0;
  for (const change of changes) {
    const size = JSON.stringify(change).length + 1;
    if (current.length === MAX_CHANGES || (current.length > 0 && bytes + size > MAX_BYTES)) {
      out.push({ version: 1, source, changes: current });
      current = [];
      bytes = 0;
    }
    current.push(change);
    bytes += size;
  }
  if (current.length > 0) out.push({ version: 1, source, changes: current });
  return out;
}

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
    const fresh = changes.filter((change) => {
      const key = `${change.change}\u0000${change.ecosystem}\u0000${change.name}\u0000${change.advisoryIds.join(',')}`;
      if (this.seen.has(key)) return false;
      this.seen.add(key);
      return true;
    });
    return packChanges(fresh, this.source);
  }

  readonly deliver = async (changes: readonly PackageChange[]): Promise<void> => {
    const messages = this.messages(changes);
    await sendMessages(
      this.sqs,
      this.queueUrl,
      messages.map((m) => JSON.stringify(m)),
    );
    this.sent += messages.length;
  };
}
