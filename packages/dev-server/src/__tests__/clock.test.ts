import { afterEach, describe, expect, it } from 'vitest';
import { createClock } from '../clock';
import type { Clock } from '../clock';

let clock: Clock;
afterEach(() => clock.dispose());

describe('clock', () => {
  it('now() is real time plus what advance() added', () => {
    clock = createClock();
    const before = Date.now();
    clock.advance(60_000);
    expect(clock.offset).toBe(60_000);
    expect(clock.now()).toBeGreaterThanOrEqual(before + 60_000);
    expect(clock.now()).toBeLessThan(Date.now() + 60_000 + 1000);
  });

  it('advance() fires the timers now due, earliest first, and leaves the others', () => {
    clock = createClock();
    const fired: string[] = [];
    clock.setTimer(() => fired.push('50s'), 50_000);
    clock.setTimer(() => fired.push('10s'), 10_000);
    clock.setTimer(() => fired.push('10s again'), 10_000);
    clock.setTimer(() => fired.push('100s'), 100_000);
    clock.advance(60_000);
    expect(fired).toEqual(['10s', '10s again', '50s']);
    clock.advance(40_000);
    expect(fired).toEqual(['10s', '10s again', '50s', '100s']);
  });

  it('a cleared timer never fires, and a timer cleared by an earlier one in the same advance neither', () => {
    clock = createClock();
    const fired: string[] = [];
    const late = clock.setTimer(() => fired.push('late'), 2_000);
    clock.setTimer(() => clock.clearTimer(late), 1_000);
    const cleared = clock.setTimer(() => fired.push('cleared'), 500);
    clock.clearTimer(cleared);
    clock.advance(5_000);
    expect(fired).toEqual([]);
  });

  it('a timer scheduled from a firing timer fires in the same advance when already due', () => {
    clock = createClock();
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.offset);
      if (fired.length < 3) clock.setTimer(tick, 0);
    };
    clock.setTimer(tick, 1_000);
    clock.advance(1_000);
    expect(fired).toHaveLength(3);
  });

  it('timers also fire in real time, sooner after an advance', async () => {
    clock = createClock();
    const fired = new Promise<number>((resolve) => clock.setTimer(() => resolve(Date.now()), 60_020));
    const start = Date.now();
    clock.advance(60_000); // 20 ms of real time remain
    expect(await fired).toBeGreaterThanOrEqual(start + 15);
    expect(Date.now() - start).toBeLessThan(1_000);
  });

  it('a throwing timer is reported and does not stop the others', () => {
    const errors: unknown[] = [];
    clock = createClock({ onError: (error) => errors.push(error) });
    let secondRan = false;
    clock.setTimer(() => {
      throw new Error('boom');
    }, 10);
    clock.setTimer(() => (secondRan = true), 20);
    clock.advance(30);
    expect(secondRan).toBe(true);
    expect(errors).toHaveLength(1);
  });

  it('refuses to go backwards', () => {
    clock = createClock();
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });
});
