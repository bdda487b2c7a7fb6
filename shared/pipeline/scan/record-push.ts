/**
 * Step before the lease: the push is recorded (repository, tag, and the tag's move from another
 * digest), and a move is announced as TAG_MOVED once. Indexes and artifacts stop after this.
 */
import type { ScanRequest } from '../../events/scan-request.js';
import { buildMessage, dedupeKey } from '../../notifications/message.js';
import { sendOnce } from '../announce.js';
import { judgeRunning } from '../audit.js';
import { imageContext, type PipelineDeps, splitRepository } from '../context.js';

/** Records the push; returns the number of messages sent (a TAG_MOVED, or none). */
export async function recordPush(request: ScanRequest, deps: PipelineDeps): Promise<number> {
  const repository = `${request.registry}/${request.repository}`;
  const { digest, tag, eventTime } = request;
  if (tag === undefined) {
    await deps.images.recordPush(digest, repository, undefined, eventTime);
    return 0;
  }
  const move =
    (await deps.images.recordPush(digest, repository, tag, eventTime)) ??
    // A redelivered push: the move it recorded the first time, if it recorded one.
    (await deps.images.moveOf(repository, tag, digest, eventTime));
  if (move?.previousDigest === undefined) return 0;
  const image = await deps.images.getImage(digest);
  const sent = await sendOnce(
    deps,
    buildMessage({
      eventType: 'TAG_MOVED',
      dedupeKey: dedupeKey('TAG_MOVED', digest, [
        repository,
        move.tag,
        move.previousDigest,
        move.movedAt,
      ]),
      occurredAt: move.movedAt,
      trigger: 'push',
      image: await imageContext(deps, digest, image),
      findings: [],
      tagMove: {
        repository: splitRepository(repository).name,
        tag: move.tag,
        digest,
        previousDigest: move.previousDigest,
        movedAt: move.movedAt,
      },
    }),
  );
  // Workloads still running the digest the tag left now run a stale one (pipeline/audit.ts).
  return (sent ? 1 : 0) + (await judgeRunning(deps, move.previousDigest, 'push'));
}
