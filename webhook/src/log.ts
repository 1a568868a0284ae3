import pino, { type DestinationStream, type Logger } from 'pino';

// One JSON line per event. Admission objects may carry Secrets' neighbours
// (env values, annotations); requests are logged by identity, never by body,
// and key material or tokens are censored should they ever reach a log call.
export const REDACTED_PATHS = [
  'key',
  'keyPem',
  'privateKey',
  'token',
  'authorization',
  'caBundle',
  '*.key',
  '*.keyPem',
  '*.privateKey',
  '*.token',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'object',
  'oldObject',
  'body',
];

export function createLogger(
  level = process.env.SCRIBE_LOG_LEVEL ?? 'info',
  destination: DestinationStream = pino.destination({ fd: 2, sync: false }),
): Logger {
  return pino(
    {
      name: 'scribe-webhook',
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
