import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, splitMessages } from './telegram-text.ts';

/** Escaped text with `<b>` pairs, as Forge builds blocks. */
const block = fc
  .tuple(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.boolean())
  .map(([text, bold]) => (bold ? `<b>${escapeHtml(text)}</b>` : escapeHtml(text)));

/** A message that ends inside an escape (`&am` of `&amp;`). */
const ENTITY_CUT = /&(a|am|amp|l|lt|g|gt)?$/;

describe('escapeHtml', () => {
  it('leaves no raw <, > or bare & behind', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const out = escapeHtml(text);
        expect(out).not.toMatch(/[<>]/);
        expect(out.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
      }),
    );
  });
});

describe('splitMessages', () => {
  it('keeps every message within the limit, packs whole blocks in order, and cuts no escape', () => {
    fc.assert(
      fc.property(
        fc.array(block, { maxLength: 40 }),
        fc.integer({ min: 8, max: 500 }),
        (blocks, limit) => {
          const messages = splitMessages(blocks, limit);
          for (const m of messages) {
            expect(m.length).toBeLessThanOrEqual(limit);
            expect(m).not.toMatch(ENTITY_CUT);
            expect(m).not.toMatch(/[\uD800-\uDBFF]$/);
          }
          const fitting = blocks.filter((b) => b.length <= limit && b !== '');
          const text = messages.join('\n');
          let at = 0;
          for (const b of fitting) {
            const found = text.indexOf(b, at);
            expect(found).toBeGreaterThanOrEqual(at);
            at = found + b.length;
          }
        },
      ),
    );
  });

  it('cuts a block longer than a message into plain pieces that keep all its text', () => {
    const long = `<b>${escapeHtml('a<b & c '.repeat(1000))}</b>`;
    const messages = splitMessages([long], 4096);
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.join('')).toBe(escapeHtml('a<b & c '.repeat(1000)));
    for (const m of messages) expect(m).not.toContain('<b>');
  });

  it('packs short blocks into one message', () => {
    expect(splitMessages(['<b>done</b>', 'cost $0.40', 'PR #7'])).toEqual([
      '<b>done</b>\ncost $0.40\nPR #7',
    ]);
  });
});
