import { describe, expect, it } from 'vitest';
import { OutputTail } from './output-tail.ts';

describe('OutputTail', () => {
  it('keeps everything under the limit and is not truncated', () => {
    const tail = new OutputTail(10);
    tail.push(Buffer.from('0123456789'));
    expect(tail.text()).toBe('0123456789');
    expect(tail.truncated).toBe(false);
  });

  it('keeps exactly the last bytes and is truncated once one byte is dropped', () => {
    const tail = new OutputTail(10);
    tail.push(Buffer.from('0123456789'));
    tail.push(Buffer.from('A'));
    expect(tail.text()).toBe('123456789A');
    expect(tail.truncated).toBe(true);
  });

  it('never starts inside a multi-byte character', () => {
    const tail = new OutputTail(5);
    tail.push(Buffer.from('ééé')); // 6 bytes
    expect(tail.text()).toBe('éé');
    expect(tail.truncated).toBe(true);
  });

  it('stays bounded over many pushes', () => {
    const tail = new OutputTail(1024);
    for (let i = 0; i < 10_000; i++) tail.push(Buffer.from(`line ${i}\n`));
    expect(Buffer.byteLength(tail.text())).toBeLessThanOrEqual(1024);
    expect(tail.text().endsWith('line 9999\n')).toBe(true);
  });
});
