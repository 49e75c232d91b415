import { ApplicationFailure } from '@temporalio/activity';
import { ApiError } from '../src/lib/errors.js';

/**
 * Runs a service call as an activity body. A domain error (not found, conflict, validation) will
 * fail the same way on every retry, so it becomes a non-retryable failure carrying its type and
 * message; anything else (a dropped connection, a timeout) is rethrown for Temporal to retry with
 * the workflow's bounded backoff.
 */
export async function asActivity<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ApiError) {
      throw ApplicationFailure.create({
        message: error.message,
        type: `${error.name}:${error.type}`,
        nonRetryable: true,
        cause: error,
      });
    }
    throw error;
  }
}
