import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter.ts';

describe('LineSplitter', () => {
  it('joins lines split across chunks and strips CR', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('hel'))).toEqual([]);
    expect(s.push(Buffer.from('lo\r\nwor'))).toEqual(['hello']);
    expect(s.push(Buffer.from('ld\n\n'))).toEqual(['world', '']);
    expect(s.end()).toEqual([]);
  });

  it('returns a last line without newline at the end', () => {
    const s = new LineSplitter();
    s.push(Buffer.from('a\nb'));
    expect(s.end()).toEqual(['b']);
  });

  it('cuts an endless line into bounded pieces without splitting characters', () => {
    const s = new LineSplitter(7);
    const lines = s.push(Buffer.from('ééééé')); // 10 bytes
    expect(lines).toEqual(['ééé']);
    expect(s.end()).toEqual(['éé']);
  });
});
