import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';

/** Body-parser failures carry a `type`; map them to stable codes. */
function fromBodyParser(err: { type?: unknown; status?: unknown }): AppError | null {
  switch (err.type) {
    case 'entity.too.large':
      return new AppError('PAYLOAD_TOO_LARGE', 'request body too large');
    case 'entity.parse.failed':
      return new AppError('BAD_JSON', 'request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported body encoding');
    default:
      return null;
  }
}

export const notFoundHandler: RequestHandler = (_req, _res, next) => next(new AppError('NOT_FOUND', 'no such route'));

/** The one error handler: `{ error: { code, message, details } }` with the code's status. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let e: AppError;
    if (err instanceof AppError) e = err;
    else if (err && typeof err === 'object' && fromBodyParser(err as { type?: unknown })) e = fromBodyParser(err as { type?: unknown })!;
    else {
      (req as { log?: Logger }).log?.error({ err }, 'unhandled error') ?? log.error({ err }, 'unhandled error');
      e = new AppError('INTERNAL', 'internal error');
    }
    if (res.headersSent) return;
    res.status(e.status).json({ error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) } });
  };
}
