/**
 * How a scan ends without findings: a FAILED record with its reason, announced once as
 * SCAN_FAILED. The committed inventory and findings of an earlier scan stay as they are.
 */
import type { BosunError } from '../../errors.js';
import { LayerError } from '../../layers/errors.js';
import { buildMessage, dedupeKey } from '../../notifications/message.js';
import {
  DigestMismatchError,
  InvalidReferenceError,
  ManifestError,
  NotFoundError,
  UnsupportedMediaTypeError,
} from '../../registry/errors.js';
import { sendOnce } from '../announce.js';
import { imageContext, saveImage } from '../context.js';
import { need, type ScanAttempt, type ScanOutcome, type ScanRun } from './run.js';

/** Errors that say the image itself cannot be scanned: retrying the message cannot help. */
export function isImageProblem(error: unknown): error is BosunError {
  return (
    error instanceof LayerError ||
    error instanceof DigestMismatchError ||
    error instanceof ManifestError ||
    error instanceof UnsupportedMediaTypeError ||
    error instanceof InvalidReferenceError ||
    error instanceof NotFoundError
  );
}

/** The reason recorded when the last delivery of a request fails on what could be transient. */
export function gaveUp(attempt: ScanAttempt, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `gave up after ${attempt.receives} attempts: ${message}`;
}

export async function failScan(run: ScanRun, reason: string): Promise<ScanOutcome> {
  const image = need(run.image, 'the marked image');
  const ended = need(run.ended, 'the unmarked record');
  const { deps, analyzerVersion, now } = run;
  await saveImage(
    deps,
    { ...ended, status: 'FAILED', reason, analyzerVersion, lastScannedAt: now },
    image,
  );
  const sent = await sendOnce(
    deps,
    buildMessage({
      eventType: 'SCAN_FAILED',
      dedupeKey: dedupeKey('SCAN_FAILED', image.digest, [analyzerVersion, reason]),
      occurredAt: now,
      trigger: 'push',
      image: await imageContext(deps, image.digest, image),
      findings: [],
      failure: { reason },
    }),
  );
  return { status: 'failed', reason, messages: sent ? 1 : 0 };
}
