/**
 * The read API's typed errors (docs/api.md): each maps to one HTTP status. Anything else a route
 * throws is an internal error, answered 500 with no message or stack of its own.
 */
import { BosunError } from '../errors.js';

export abstract class ApiError extends BosunError {
  readonly fatal = false;
  abstract readonly status: 400 | 403 | 404;
  abstract readonly code: string;
}

/** A path parameter, query parameter, body or cursor that is not what the route accepts. */
export class BadRequestError extends ApiError {
  readonly status = 400;
  readonly code = 'BadRequest';
  constructor(readonly problems: readonly string[]) {
    super(`invalid request: ${problems.join('; ')}`);
  }
}

/** A write without a caller identity (only possible when a route is reached without IAM). */
export class ForbiddenError extends ApiError {
  readonly status = 403;
  readonly code = 'Forbidden';
}

/** The image, repository, tag or suppression named by the path is not known. */
export class NotFoundError extends ApiError {
  readonly status = 404;
  readonly code = 'NotFound';
}
