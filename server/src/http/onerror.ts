import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';

interface HttpishError {
  type?: unknown;
  status?: unknown;
  message?: unknown;
}

/**
 * Errors raised before our handlers run — body-parser (a `type`, or a bare 4xx for a stream
 * that fails to inflate) and the router (a 400 URIError for a malformed %-escape) — mapped to
 * stable codes, never a 500.
 */
function fromFramework(err: HttpishError): AppError | null {
  if (err instanceof URIError || (typeof err.message === 'string' && err.message.startsWith('Failed to decode param'))) {
    return new AppError('VALIDATION_FAILED', 'malformed percent-encoding in the URL');
  }
  switch (err.type) {
    case 'entity.too.large':
      return new AppError('PAYLOAD_TOO_LARGE', 'request body too large');
    case 'entity.parse.failed':
      return new AppError('BAD_JSON', 'request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported body encoding');
    default:
      break;
  }
  const status = typeof err.status === 'number' ? err.status : 0;
  if (status === 413) return new AppError('PAYLOAD_TOO_LARGE', 'request body too large');
  if (status === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported body encoding');
  if (status === 400) return new AppError('BAD_JSON', 'request body could not be read');
  return null;
}

export const notFoundHandler: RequestHandler = (_req, _res, next) => next(new AppError('NOT_FOUND', 'no such route'));

/** The one error handler: `{ error: { code, message, details } }` with the code's status. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let e: AppError;
    if (err instanceof AppError) e = err;
    else if (err && typeof err === 'object' && fromFramework(err as HttpishError)) e = fromFramework(err as HttpishError)!;
    else {
      ((req as { log?: Logger }).log ?? log).error({ err }, 'unhandled error');
      e = new AppError('INTERNAL', 'internal error');
    }
    if (res.headersSent) return;
    res.status(e.status).json({ error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) } });
  };
}
