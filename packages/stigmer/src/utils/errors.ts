/**
 * An error the user can act on: one line saying what is wrong and how to fix it.
 * Executors print its message alone (no stack) and exit non-zero.
 */
export class StigmerError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' ').trim());
    this.name = 'StigmerError';
  }
}

/** The one-line message to show for any error: ours as is, others with their first line. */
export function describeError(error: unknown): string {
  if (error instanceof StigmerError) return error.message;
  if (error instanceof Error) return error.message.split('\n')[0];
  return String(error);
}
