/** Why a job or attempt did not succeed. Every non-successful terminal job carries one, with a
 *  message a person can act on. */
export const FAILURE_CATEGORIES = [
  'agent_error',
  'agent_not_found',
  'auth',
  'budget_exceeded',
  'max_turns',
  'max_duration',
  'inactivity',
  'cancelled',
  'sandbox',
  'workspace',
  'push',
  'interrupted',
  'config',
] as const;

export type FailureCategory = (typeof FAILURE_CATEGORIES)[number];

export interface Failure {
  category: FailureCategory;
  message: string;
}

/** Categories a retry can plausibly fix. Budget, cancellation, configuration and max duration are
 *  terminal: running again would spend more for the same result. */
const RETRYABLE: ReadonlySet<FailureCategory> = new Set([
  'agent_error',
  'inactivity',
  'sandbox',
  'workspace',
  'interrupted',
]);

export function isRetryable(category: FailureCategory): boolean {
  return RETRYABLE.has(category);
}

export function failure(category: FailureCategory, message: string): Failure {
  return { category, message };
}
