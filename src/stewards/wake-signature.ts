/**
 * Who may wake a steward without an API token: a caller holding its `webhook_secret`.
 *
 * - Forge's own scheme, for a CI step or a script: `X-Forge-Timestamp: <unix seconds>` and
 *   `X-Forge-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. A timestamp more
 *   than five minutes off is refused, so a captured request cannot be replayed later.
 * - A forge's webhook pointed straight at the steward (e.g. on a CI status): its own signature
 *   header over the raw body (intake/webhook-signature.ts). Forges send no timestamp; their
 *   delivery id is remembered instead, so the same delivery wakes nothing twice.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SIGNATURE_HEADER, validSignature, type ForgeKind } from '../intake/webhook-signature.ts';

export const FORGE_SIGNATURE = 'x-forge-signature';
export const FORGE_TIMESTAMP = 'x-forge-timestamp';
const MAX_SKEW_S = 300;
const DELIVERY_HEADERS = ['x-github-delivery', 'x-forgejo-delivery', 'x-gitea-delivery'];

export type WakeCheck = { ok: true; by: string } | { ok: false; message: string };

export interface Headers {
  get(name: string): string | null | undefined;
}

/** Whether any signature header is present (else the caller must bring an API token). */
export function hasSignature(headers: Headers): boolean {
  return [FORGE_SIGNATURE, ...Object.values(SIGNATURE_HEADER)].some((h) => !!headers.get(h));
}

export function forgeSignature(secret: string, timestamp: number, rawBody: Uint8Array): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
  return `sha256=${mac}`;
}

/** Checks a signed wake. `seen` remembers forge delivery ids (bounded by the caller). */
export function checkWakeSignature(opts: {
  steward: string;
  secret: string;
  headers: Headers;
  raw: Uint8Array;
  nowMs: number;
  seen: DeliveryMemory;
}): WakeCheck {
  const { headers, secret, steward } = opts;
  const fix = `sign it with stewards.${steward}.webhook_secret (see the README, "Stewards")`;
  const ours = headers.get(FORGE_SIGNATURE);
  if (ours) {
    const ts = Number(headers.get(FORGE_TIMESTAMP) ?? '');
    if (!Number.isInteger(ts))
      return { ok: false, message: `${FORGE_TIMESTAMP} is missing or not unix seconds; ${fix}` };
    if (Math.abs(opts.nowMs / 1000 - ts) > MAX_SKEW_S)
      return {
        ok: false,
        message: `${FORGE_TIMESTAMP} is more than ${MAX_SKEW_S} s from the server's clock; sign each wake when it is sent`,
      };
    const expected = Buffer.from(forgeSignature(secret, ts, opts.raw));
    const given = Buffer.from(ours.trim());
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return { ok: false, message: `the ${FORGE_SIGNATURE} signature does not match; ${fix}` };
    return { ok: true, by: 'webhook' };
  }
  for (const [kind, header] of Object.entries(SIGNATURE_HEADER) as Array<[ForgeKind, string]>) {
    const signature = headers.get(header);
    if (!signature) continue;
    if (!validSignature(kind, secret, opts.raw, signature))
      return { ok: false, message: `the ${header} signature does not match; ${fix}` };
    const delivery = DELIVERY_HEADERS.map((h) => headers.get(h)?.trim()).find(Boolean);
    if (!delivery)
      return {
        ok: false,
        message: `a forge's signature needs its delivery id header (${DELIVERY_HEADERS.join(', ')}) so a replay is recognised`,
      };
    if (!opts.seen.remember(`${steward}:${delivery.slice(0, 200)}`))
      return { ok: false, message: `delivery ${delivery.slice(0, 80)} was already used` };
    return { ok: true, by: `webhook:${kind}` };
  }
  return { ok: false, message: `no signature; ${fix}` };
}

/** The most recent delivery ids, oldest forgotten first. */
export class DeliveryMemory {
  private readonly ids = new Set<string>();
  private readonly limit: number;
  constructor(limit = 10_000) {
    this.limit = limit;
  }
  /** False when `id` was seen already. */
  remember(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.limit) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}
