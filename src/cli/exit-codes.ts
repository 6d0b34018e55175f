/** Exit codes scripts can rely on (documented in the README). */
export const EXIT = {
  ok: 0,
  /** The job ended but did not succeed (submit --wait, logs -f). */
  jobFailed: 1,
  /** Bad arguments or a request the server refused as invalid. */
  usage: 2,
  notFound: 3,
  conflict: 4,
  /** The server could not be reached or answered with an error. */
  unavailable: 5,
  /** Configuration problems (serve, doctor). */
  config: 6,
} as const;

export function exitCodeForStatus(status: number): number {
  if (status === 400 || status === 413 || status === 405) return EXIT.usage;
  if (status === 401 || status === 403) return EXIT.usage;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  return EXIT.unavailable;
}
