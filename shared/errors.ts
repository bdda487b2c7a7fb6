/**
 * Bosun's error taxonomy. Errors that reject one input (a malformed event, file or record) are
 * recoverable: the caller records them and goes on with the rest. Errors that make all further
 * work pointless (configuration, registry auth, store outage) are fatal. Every message names
 * the offending value.
 */
export abstract class BosunError extends Error {
  abstract readonly fatal: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An event or message that does not have the documented shape. Retrying cannot fix it. */
export class InvalidEventError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`invalid ${source} event: ${problems.join('; ')}`, options);
  }
}
