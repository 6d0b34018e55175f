/**
 * Checks that a webhook delivery was signed by the forge with the source's secret: an HMAC-SHA256
 * of the raw body, compared in constant time. Forgejo and Gitea send it as hex in
 * `X-Forgejo-Signature` / `X-Gitea-Signature`; GitHub as `sha256=<hex>` in
 * `X-Hub-Signature-256`. Anything missing, malformed or different is refused.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type ForgeKind = 'forgejo' | 'gitea' | 'github';

/** The header that carries the signature, by forge. */
export const SIGNATURE_HEADER: Record<ForgeKind, string> = {
  forgejo: 'x-forgejo-signature',
  gitea: 'x-gitea-signature',
  github: 'x-hub-signature-256',
};

/** Whether `signature` (the header's value, or undefined) signs `rawBody` with `secret`. */
export function validSignature(
  kind: ForgeKind,
  secret: string,
  rawBody: Uint8Array,
  signature: string | undefined,
): boolean {
  if (!signature || secret === '') return false;
  const hex =
    kind === 'github' ? /^sha256=([0-9a-f]{64})$/i.exec(signature.trim())?.[1] : signature.trim();
  if (!hex || !/^[0-9a-f]{64}$/i.test(hex)) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

/** The signature header a forge would send for `rawBody` (for tests and the fake forges). */
export function signatureFor(kind: ForgeKind, secret: string, rawBody: Uint8Array): string {
  const hex = createHmac('sha256', secret).update(rawBody).digest('hex');
  return kind === 'github' ? `sha256=${hex}` : hex;
}
