// Names derived from a repository URL: the mirror's directory, and the URL as shown to agents.
import { createHash } from 'node:crypto';

/** A readable slug (host and path) plus a hash of the whole URL, so names never collide. */
export function mirrorName(url: string): string {
  const slug = cleanUrl(url)
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\.git$/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(-60);
  return `${slug}-${createHash('sha256').update(url).digest('hex').slice(0, 16)}.git`;
}

/** The URL without any user:password (the port asks for a clean one; this makes sure). */
export function cleanUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}
