/**
 * pino logger with redaction: no password, token or full phone number ever reaches a log line
 * (HOTLINE-RULES "Privacy and security"). Paths cover request bodies and headers; the
 * formatter masks any 11-digit mobile number that slips into a message string.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';
import { maskDeep, maskPhonesInText } from './phone.js';

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
