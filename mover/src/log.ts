import pino, { type Logger } from 'pino';

// One JSON line per event on stderr (stdout carries the command's own output).
// Key material never reaches a log call; the redaction is a second guard.
export function createLogger(
  component: string,
  level = process.env.SCRIBE_LOG_LEVEL ?? 'info',
): Logger {
  return pino(
    {
      name: 'scribe-mover',
      level,
      base: { component },
      redact: { paths: ['key', 'privateKey', '*.privateKey', '*.key'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

export type { Logger };
