/** Exit codes of the `intentmap` command: 0 success, 1 runtime failure, 2 usage error. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A failure the user can act on: the message names the problem and the fix; no stack trace is shown. */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly exitCode: (typeof EXIT)[keyof typeof EXIT] = EXIT.failure,
  ) {
    super(message);
  }
}

/** A usage error (bad flag value, missing argument): exit code 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}
