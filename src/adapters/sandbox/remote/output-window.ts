/**
 * Where a piece of output sent from a worker fits in what Forge already holds. The worker sends
 * from the last offset it saw acknowledged, so after a lost answer it sends bytes Forge already
 * has (overlap, dropped) and never leaves a hole; a piece that starts beyond what Forge holds (a
 * worker that skipped ahead, or a Forge that lost what it had) is refused with the offset to
 * resend from.
 */

export type Placement =
  /** Keep `bytes.subarray(skip)`; Forge then holds `acked` bytes. */
  | { ok: true; skip: number; acked: number }
  /** A hole before the piece: resend from `acked`. */
  | { ok: false; acked: number };

export function placeOutput(held: number, offset: number, length: number): Placement {
  if (offset > held) return { ok: false, acked: held };
  const skip = Math.min(held - offset, length);
  return { ok: true, skip, acked: Math.max(held, offset + length) };
}
