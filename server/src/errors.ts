/**
 * Every error the API can answer, with its HTTP status and a stable machine-readable code.
 * One table, one handler (http/onerror.ts). Codes never change meaning once published.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: 400,
  BAD_JSON: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  ACTION_FORBIDDEN: 403,
  /** A cookie-authenticated change without `X-Requested-With: hotline-console` (auth/session-cookie.ts). */
  CSRF_REQUIRED: 403,
  NOT_FOUND: 404,
  TICKET_CONFLICT: 409,
  TRANSFER_PENDING: 409,
  INVALID_TRANSITION: 409,
  DUPLICATE: 409,
  IDEMPOTENCY_MISMATCH: 409,
  DEADLINE_PASSED: 422,
  EXTENSION_LIMIT: 422,
  EXTENSION_PENDING: 409,
  NO_PENDING_EXTENSION: 409,
  RATING_EXISTS: 409,
  /** A rating link (ratings/tokens.ts) already used, or its round is over. */
  RATING_LINK_USED: 409,
  /** A rating link past its expiry. */
  RATING_LINK_EXPIRED: 410,
  SUSPENDED: 409,
  SUSPENSION_PENDING: 409,
  NO_PENDING_SUSPENSION: 409,
  NOT_SUSPENDED: 409,
  /** A deadline timer for a milestone that was met or moved (internal; never reaches a client). */
  STALE_TIMER: 409,
  NOTHING_DUE: 409,
  UNKNOWN_DEPARTMENT: 422,
  INVALID_MERGE: 422,
  /** An ACD agent record kept changing under concurrent writers; retry. */
  AGENT_CONFLICT: 409,
  /** The public API's human check (CAPTCHA hook, intake/human.ts) refused the request. */
  CAPTCHA_REQUIRED: 403,
  /** Partner webhook: signature missing or wrong (intake/webhook.ts). */
  SIGNATURE_INVALID: 401,
  /** Partner webhook: timestamp missing or outside the replay window. */
  TIMESTAMP_OUT_OF_WINDOW: 401,
  /** An attachment over the size limit, or more files than allowed. */
  ATTACHMENT_TOO_LARGE: 413,
  TOO_MANY_ATTACHMENTS: 400,
  /** An attachment whose content (magic bytes) is not an allowed type. */
  ATTACHMENT_TYPE_NOT_ALLOWED: 415,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  /** A 审管 delivery that is not failed (only failed ones are sent again). */
  DELIVERY_NOT_FAILED: 409,
  /** A 审管 delivery whose job (and payload) is gone: older than the failed jobs are kept. */
  DELIVERY_GONE: 410,
  /** A callback task (未接回拨) already closed by someone's call-back. */
  CALLBACK_CLOSED: 409,
  INTERNAL: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_CODES[code];
  }
}

export const notFound = (what = 'resource'): AppError => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = (message = 'not allowed for your role'): AppError => new AppError('FORBIDDEN', message);
export const validation = (message: string, details?: unknown): AppError =>
  new AppError('VALIDATION_FAILED', message, details);
