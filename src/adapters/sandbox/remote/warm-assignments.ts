/**
 * Handing warm pods their attempts. A warm pod (an agent-sandbox warm pool keeps them started
 * before any attempt exists) runs `forge worker --warm`: it cannot have its attempt's token in its
 * environment, so it asks for it, by its pod name, with the pool token every warm pod holds
 * (`POST /worker/warm/v1/assignment`, a long poll). When a claim binds a pod to an attempt — after
 * the launcher checked the pod is really that claim's — the launcher offers the attempt's token
 * to that pod by name; the pod's waiting request takes it, once.
 *
 * The pool token only lets a pod ask. Asking under another pod's name is refused when the offer
 * names the pod's address and the request comes from another (the launcher knows the pod's IP);
 * an offer is taken once, and withdrawn when its attempt ends.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface WarmAssignments {
  /** Offers the attempt `token` to the warm pod `pod` (at `address`, when known). */
  offer(pod: string, token: string, address?: string | null): void;
  /** Withdraws an offer not yet taken. */
  withdraw(pod: string): void;
  /** The token offered to `pod`, waiting up to `waitMs` for one; null when none came. Throws
   *  'wrong address' when the offer names an address and `from` is another. */
  take(
    pod: string,
    from: string | null,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<string | null>;
}

interface Offer {
  token: string;
  address: string | null;
}

export class WrongAddressError extends Error {}

export function createWarmAssignments(): WarmAssignments {
  const offers = new Map<string, Offer>();
  const waiting = new Map<string, Set<() => void>>();
  const taken = (pod: string, from: string | null): string | null => {
    const offer = offers.get(pod);
    if (!offer) return null;
    if (offer.address !== null && from !== null && !sameAddress(offer.address, from)) {
      throw new WrongAddressError(
        `pod ${pod} is at ${offer.address}, not ${from}: only the pod itself may take its attempt`,
      );
    }
    offers.delete(pod);
    return offer.token;
  };
  return {
    offer(pod, token, address = null) {
      offers.set(pod, { token, address });
      for (const wake of waiting.get(pod) ?? []) wake();
    },
    withdraw(pod) {
      offers.delete(pod);
    },
    async take(pod, from, waitMs, signal) {
      const now = taken(pod, from);
      if (now !== null || waitMs <= 0 || signal.aborted) return now;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          waiting.get(pod)?.delete(done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        signal.addEventListener('abort', done, { once: true });
        let set = waiting.get(pod);
        if (!set) waiting.set(pod, (set = new Set()));
        set.add(done);
      });
      if (waiting.get(pod)?.size === 0) waiting.delete(pod);
      return taken(pod, from);
    },
  };
}

/** IPv4 addresses as Node reports them on a dual-stack socket (`::ffff:10.0.0.5`) or not. */
function sameAddress(a: string, b: string): boolean {
  const plain = (s: string) => s.replace(/^::ffff:/, '');
  return plain(a) === plain(b);
}

/** The token every warm pod holds to ask for its attempt: derived from the worker secret, so it
 *  survives restarts and needs no storage; Forge puts it in a Secret the pods' template names. */
export function poolToken(secret: Buffer): string {
  return createHmac('sha256', secret).update('forge warm pool').digest('hex');
}

export function isPoolToken(secret: Buffer, token: string): boolean {
  const want = Buffer.from(poolToken(secret));
  const got = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}
