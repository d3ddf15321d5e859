/**
 * pino logger with redaction: no password, token or full phone number ever reaches a log line
 * (HOTLINE-RULES "Privacy and security"). Paths cover request bodies and headers; the
 * formatter masks any 11-digit mobile number that slips into a message string.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';
import { maskPhonesInText } from './phone.js';

export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'phone',
  '*.phone',
  '*.*.phone',
  'caller.phone',
  '*.caller.phone',
];


/** Mask phone numbers in every string of a log object (URLs, query strings, messages, errors). */
export function maskDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskPhonesInText(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return { type: value.name, message: maskPhonesInText(value.message), stack: value.stack ? maskPhonesInText(value.stack) : undefined };
  }
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v, depth + 1);
  return out;
}

export function createLogger(level: LoggerOptions['level'] = 'info', destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { log: (obj) => maskDeep(obj) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        const masked = args.map((a) => (typeof a === 'string' ? maskPhonesInText(a) : a)) as typeof args;
        method.apply(this, masked);
      },
    },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
