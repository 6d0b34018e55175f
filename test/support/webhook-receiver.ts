/**
 * A webhook receiver on a loopback port, as a user of Forge's webhooks would write one: it checks
 * each request's signature with the shared secret (its own code, following the documented scheme,
 * not Forge's) and records what came. It can be told to answer the next requests with an error.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  /** The raw body, as text. */
  body: string;
  /** Whether `X-Forge-Signature` signs `X-Forge-Timestamp` and the raw body with the secret. */
  valid: boolean;
  /** The status it was answered with. */
  status: number;
}

export interface WebhookReceiver {
  url: string;
  requests: ReceivedWebhook[];
  /** Answers the next `count` requests with `status` (they are still recorded). */
  failNext: (count: number, status: number) => void;
  close: () => Promise<void>;
}

/** Whether `signature` is `sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<raw body>"). */
export function verifyForgeSignature(
  secret: string,
  timestamp: string | undefined,
  rawBody: Buffer,
  signature: string | undefined,
): boolean {
  const hex = /^sha256=([0-9a-f]{64})$/.exec(signature ?? '')?.[1];
  if (!hex || !timestamp || !/^\d+$/.test(timestamp)) return false;
  const expected = createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(`${timestamp}.`), rawBody]))
    .digest();
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = [];
  const failures: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const header = (name: string) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const valid = verifyForgeSignature(
        secret,
        header('x-forge-timestamp'),
        raw,
        header('x-forge-signature'),
      );
      const status = failures.shift() ?? (valid ? 204 : 401);
      requests.push({ headers: req.headers, body: raw.toString('utf8'), valid, status });
      res.writeHead(status).end();
    });
  });
  const { url, close } = await listenOnLoopback(server);
  return {
    url,
    requests,
    failNext: (count, status) => failures.push(...Array<number>(count).fill(status)),
    close,
  };
}
