/**
 * An error the user can act on. Printed as kubectl prints errors:
 * `error: <message>` on stderr, exit status 1, no stack.
 */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options?.exitCode ?? 1;
  }
}

export function isCliError(e: unknown): e is CliError {
  return e instanceof CliError;
}
