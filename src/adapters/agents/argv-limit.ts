/** The most one command-line argument may hold on Linux (MAX_ARG_STRLEN), its terminating NUL
 *  included: a longer one makes the start fail with E2BIG. */
export const MAX_ARG_BYTES = 128 * 1024;

export function fitsInOneArgument(arg: string): boolean {
  return Buffer.byteLength(arg) + 1 <= MAX_ARG_BYTES;
}
