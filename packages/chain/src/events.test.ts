import { describe, expect, it } from 'vitest';
import { Emitter } from './events.js';

interface Events {
  'thing:happened': { readonly n: number };
}

class Source extends Emitter<Events> {
  fire(n: number): void {
    this.emit('thing:happened', { n });
  }
}

describe('Emitter', () => {
  it('calls listeners in subscription order and stops calling unsubscribed ones', () => {
    const source = new Source();
    const seen: string[] = [];
    const off = source.on('thing:happened', (e) => seen.push(`a${e.n}`));
    source.on('thing:happened', (e) => seen.push(`b${e.n}`));
    source.fire(1);
    off();
    source.fire(2);
    expect(seen).toEqual(['a1', 'b1', 'b2']);
    expect(source.listenerCount('thing:happened')).toBe(1);
  });

  it('isolates a throwing listener: the others still run and the error reaches the handler', () => {
    const errors: [unknown, string][] = [];
    const source = new (class extends Source {
      constructor() {
        super((error, name) => errors.push([error, name]));
      }
    })();
    const seen: number[] = [];
    source.on('thing:happened', () => {
      throw new Error('boom');
    });
    source.on('thing:happened', (e) => seen.push(e.n));
    source.fire(7);
    expect(seen).toEqual([7]);
    expect(errors).toHaveLength(1);
    expect((errors[0]![0] as Error).message).toBe('boom');
    expect(errors[0]![1]).toBe('thing:happened');
  });
});
