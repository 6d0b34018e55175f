/**
 * Text for Telegram messages in HTML parse mode: escaping (model text is full of `<`, `&` and
 * Markdown, which breaks MarkdownV2), and splitting into messages of at most 4,096 characters
 * without cutting an escape (`&amp;`), a surrogate pair or a tag pair apart.
 */

/** Telegram's limit for one message's text. */
export const TELEGRAM_MAX_CHARS = 4096;

/** Escapes text for HTML parse mode: only `&`, `<` and `>` need it. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/**
 * Packs blocks (lines or paragraphs of HTML, each complete on its own: every tag it opens, it
 * closes) into as few messages as fit, joined by newlines. A block too long for one message is
 * cut between characters and escapes; its tags are then dropped from the pieces so that no piece
 * opens a tag it does not close (the text stays).
 */
export function splitMessages(blocks: string[], limit = TELEGRAM_MAX_CHARS): string[] {
  const messages: string[] = [];
  let current = '';
  const flush = () => {
    if (current !== '') messages.push(current);
    current = '';
  };
  for (const block of blocks) {
    if (block.length > limit) {
      flush();
      messages.push(...cutBlock(block, limit));
      continue;
    }
    const joined = current === '' ? block : `${current}\n${block}`;
    if (joined.length <= limit) current = joined;
    else {
      flush();
      current = block;
    }
  }
  flush();
  return messages;
}

/** Cuts an over-long block into pieces of at most `limit`, never inside an escape or a pair. */
function cutBlock(block: string, limit: number): string[] {
  const text = block.replace(/<[^>]*>/g, '');
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + limit);
    if (end < text.length) {
      const amp = text.lastIndexOf('&', end - 1);
      if (amp >= start && amp > end - 8 && !text.slice(amp, end).includes(';')) end = amp;
      const code = text.charCodeAt(end - 1);
      if (code >= 0xd800 && code <= 0xdbff) end--;
      if (end <= start) end = start + 1; // a limit below one escape: still make progress
    }
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}

/** Escapes text for an attribute value in double quotes (a link's `href`). */
export function escapeAttribute(text: string): string {
  return escapeHtml(text).replace(/"/g, '&quot;');
}
