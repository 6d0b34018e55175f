/** What a secret becomes in everything Forge writes or shows. */
export const REDACTED = '[redacted]';

/**
 * Hides configured secrets (tokens, passwords) in output. A secret is hidden where it appears
 * whole in one piece of text; the line splitter asks `safeCut` where to cut a long line so that
 * no secret is ever split across two pieces.
 */
export interface Redactor {
  /** `text` with each secret replaced by `[redacted]`, scanning left to right and taking the
   *  longest secret where several start at the same place. Never throws. */
  redact(text: string): string;
  /** The UTF-8 length of the longest secret; 0 when there are none. */
  readonly longestBytes: number;
  /** True when a secret holds a line break: then only whole lines may be redacted one by one
   *  (as the log is written line by line), never several joined. */
  readonly multiline: boolean;
  /** Whether any secret's bytes occur in `bytes`: where none does, `redact` changes nothing. */
  appearsIn(bytes: Buffer): boolean;
  /**
   * Where to cut a line's `bytes` at or before `at` so that no secret is split: redacting the two
   * sides apart then hides exactly what redacting them together would. `bytes` must start where a
   * line or a previous such cut did, and hold `longestBytes - 1` bytes past `at`. Returns a
   * position greater than 0: at most `at`, or in the rare case that a secret at 0 runs past `at`,
   * that secret's end.
   */
  safeCut(bytes: Buffer, at: number): number;
}

const NO_SECRETS: Redactor = {
  redact: (text) => text,
  longestBytes: 0,
  multiline: false,
  appearsIn: () => false,
  safeCut: (_bytes, at) => at,
};

/**
 * A redactor for `secrets`. One regular expression of escaped alternatives finds them all in one
 * pass, however many there are. Empty and repeated secrets are ignored; short ones are redacted
 * like any other (refusing values too short to be secrets is the config's job).
 */
export function createRedactor(secrets: readonly string[]): Redactor {
  const unique = [...new Set(secrets)].filter((secret) => secret.length > 0);
  if (unique.length === 0) return NO_SECRETS;
  const pattern = alternation(unique);
  // The same secrets as UTF-8 bytes, each byte one latin1 character, to find them in raw output.
  const encoded = unique.map((secret) => Buffer.from(secret));
  const bytePattern = alternation(encoded.map((bytes) => bytes.toString('latin1')));
  const longestBytes = Math.max(...encoded.map((bytes) => bytes.length));

  /** The earliest start of a secret that begins before `cut` and ends after it, or -1. */
  function straddling(bytes: Buffer, cut: number): number {
    let earliest = -1;
    for (const secret of encoded) {
      // Any occurrence inside this window spans `cut`: it is too short to fit on either side.
      const from = Math.max(0, cut - secret.length + 1);
      const found = bytes.subarray(from, cut + secret.length - 1).indexOf(secret);
      if (found !== -1 && (earliest === -1 || from + found < earliest)) earliest = from + found;
    }
    return earliest;
  }

  /** Replays `redact`'s own scan from 0 and cuts at the start of the match spanning `at`. Used
   *  when secrets overlap all around the cut (`abababab` in a run of `ab`), where moving back to
   *  one occurrence's start would land inside another. */
  function scannedCut(bytes: Buffer, at: number): number {
    const window = bytes.toString('latin1', 0, at + longestBytes - 1);
    for (const match of window.matchAll(bytePattern)) {
      if (match.index >= at) break;
      const end = match.index + match[0].length;
      if (end > at) return match.index > 0 ? match.index : end;
    }
    return at;
  }

  return {
    redact: (text) => text.replace(pattern, REDACTED),
    longestBytes,
    multiline: unique.some((secret) => /[\r\n]/.test(secret)),
    appearsIn: (bytes) => encoded.some((secret) => bytes.includes(secret)),
    safeCut(bytes, at) {
      // Usually no secret is near the cut, or one is: a few bounded searches settle it.
      let cut = at;
      for (let tries = 0; tries < 4; tries++) {
        const start = straddling(bytes, cut);
        if (start === -1) return cut;
        if (start === 0) break;
        cut = start;
      }
      return scannedCut(bytes, at);
    },
  };
}

/** One global pattern matching any of `literals`, longest first, so that where two start at the
 *  same place the longer wins (the shorter is then a prefix of it, in characters as in bytes). */
function alternation(literals: string[]): RegExp {
  const longestFirst = [...literals].sort((a, b) => b.length - a.length);
  return new RegExp(longestFirst.map(escapeRegExp).join('|'), 'g');
}

function escapeRegExp(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
