import { BosunError } from '../errors.js';

/** A layer that cannot be read safely: corrupt, truncated, or over a limit. The layer is abandoned. */
export class LayerError extends BosunError {
  readonly fatal = false;
}
export class CorruptLayerError extends LayerError {}
export class DecompressionBombError extends LayerError {}
export class LayerTooLargeError extends LayerError {}
export class TooManyEntriesError extends LayerError {}

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
