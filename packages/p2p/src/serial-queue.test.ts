import { describe, expect, it } from 'vitest';
import { SerialQueue } from './serial-queue.js';

describe('SerialQueue', () => {
  it('runs tasks one at a time, in order', async () => {
    const queue = new SerialQueue(10);
    const log: string[] = [];
    let running = 0;
    const task = (name: string) => async (): Promise<void> => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`end ${name}`);
      running--;
    };
    queue.push(task('a'), () => undefined);
    queue.push(task('b'), () => undefined);
    await queue.idle();
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b']);
  });

  it('refuses tasks beyond its capacity and keeps going after a failing task', async () => {
    const queue = new SerialQueue(2);
    const errors: unknown[] = [];
    let ran = 0;
    expect(queue.push(async () => Promise.reject(new Error('boom')), (e) => errors.push(e))).toBe(true);
    expect(queue.push(async () => void ran++, () => undefined)).toBe(true);
    expect(queue.push(async () => void ran++, () => undefined)).toBe(false);
    expect(queue.size).toBe(2);
    await queue.idle();
    expect(ran).toBe(1);
    expect(errors).toHaveLength(1);
    expect(await queue.run(async () => 42)).toBe(42);
    await expect(queue.run(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
  });
});
