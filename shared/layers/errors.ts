import { BosunError } from '../errors.js';

/** A layer that cannot be read safely: corrupt, truncated, or over a limit. The layer is abandoned. */
export class LayerError extends BosunError {
  readonly fatal = false;
}
export class CorruptLayerError extends LayerError {}
export class DecompressionBombError extends LayerError {}
export class LayerTooLargeError extends LayerError {}
export class TooManyEntriesError extends LayerError {}
/**
 * A work budget of the whole image (budget.ts) was spent: what was read before is kept, the
 * rest is not read, and the inventory is incomplete.
 */
export class BudgetExceededError extends LayerError {}

/** One entry that is skipped while the rest of its layer is read. */
export class EntryError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}
/** An entry whose name is absolute or climbs out of the image root with `..`. */
export class UnsafePathError extends EntryError {}
/** A file an extractor asked for that is larger than the per-file read cap. */
export class FileTooLargeError extends EntryError {}
/** A hard link whose target is not in this or a lower layer. */
export class DanglingHardlinkError extends EntryError {}
/** Symbolic links that point at each other, or a chain longer than Linux follows (40). */
export class SymlinkLoopError extends EntryError {}

/** The entry errors by class name: how a layer's issues keep their kind through a cache. */
const ENTRY_ERRORS = {
  UnsafePathError,
  FileTooLargeError,
  DanglingHardlinkError,
  SymlinkLoopError,
} as const;

/** An entry error as plain data (a cached layer result), and back. */
export interface SerializedEntryError {
  readonly path: string;
  readonly message: string;
  readonly kind?: string;
}

export function serializeEntryError(e: EntryError): SerializedEntryError {
  const kind = Object.entries(ENTRY_ERRORS).find(([, c]) => e instanceof c)?.[0];
  return { path: e.path, message: e.message, ...(kind === undefined ? {} : { kind }) };
}

export function entryErrorOf(s: SerializedEntryError): EntryError {
  const Kind = ENTRY_ERRORS[s.kind as keyof typeof ENTRY_ERRORS] ?? EntryError;
  return new Kind(s.path, s.message);
}
