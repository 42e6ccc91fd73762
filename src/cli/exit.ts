/**
 * Exit codes scripts can rely on:
 * 0 done; 1 the work failed or its answer is "no" (verify not ok, a client that does not exist,
 * a refusal by the service); 2 the command line is wrong (unknown command or option, a missing
 * or malformed argument, invalid settings); 3 the database or the service cannot be reached.
 */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2, unreachable: 3 })
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** An error the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError'
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** The service's problem code, when the service refused. */
    readonly code?: string
  ) {
    super(message)
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage)
export const failure = (message: string) => new CliError(message, EXIT.failure)
export const unreachable = (message: string) => new CliError(message, EXIT.unreachable)
