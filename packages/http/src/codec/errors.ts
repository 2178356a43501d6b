/**
 * HTTP-specific failures, expressed with the core's stable codes (docs/design.md's
 * error table is closed): they differ from their parent only in the HTTP
 * status they are answered with.
 */
import { AlgUnsupportedError } from '@wireseal/core/errors';

/**
 * The request's `Content-Type` is not one this route accepts (for example
 * `text/plain` on a route that requires `application/jose`). Code
 * `ERR_ALG_UNSUPPORTED` (the media type names the protection profile, so an
 * unsupported one is an unsupported algorithm), answered with HTTP 415.
 */
export class UnsupportedMediaTypeError extends AlgUnsupportedError {
  /** The HTTP status this error is answered with. */
  readonly httpStatus = 415;
  /** The media types the route accepts. */
  readonly accepted: readonly string[];
  /**
   * @param message - names the media type received (sanitised) and those accepted
   * @param accepted - the media types the route accepts
   */
  constructor(message: string, accepted: readonly string[], options?: ErrorOptions) {
    super(message, options);
    this.accepted = accepted;
  }
}
