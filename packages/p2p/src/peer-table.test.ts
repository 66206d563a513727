import { NodeKey } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';
import type { PeerEntry } from './messages.js';
import { PeerTable } from './peer-table.js';

function entry(key: NodeKey, port: number, issuedAt = 1): PeerEntry {
  return { record: { nodeKey: key.publicKey, host: '127.0.0.1', port, issuedAt, signature: new Uint8Array(64) } };
}

function table(capacity = 10): PeerTable {
  return new PeerTable({ capacity, onlineWindowMs: 1_000, forgetAfterFailures: 3 }, new Backoff({ baseMs: 100, maxMs: 1_000 }, () => 0));
}

describe('PeerTable', () => {
  it('adds, keeps the newest record, and resets backoff when the address moves', () => {
    const t = table();
    const k = NodeKey.generate();
    expect(t.upsert(entry(k, 1000, 5), 0, false)).toBe('added');
    expect(t.upsert(entry(k, 1001, 4), 0, false)).toBe('unchanged');
    t.markFailure(k.id, 0);
    expect(t.get(k.id)!.nextAttemptAt).toBe(50);
    expect(t.upsert(entry(k, 1002, 6), 0, false)).toBe('updated');
    expect(t.get(k.id)!.entry.record.port).toBe(1002);
    expect(t.get(k.id)!.nextAttemptAt).toBe(0);
  });

  it('offers only dialable candidates: not connected, not backing off, not excluded', () => {
    const t = table();
    const [a, b, c, d] = [NodeKey.generate(), NodeKey.generate(), NodeKey.generate(), NodeKey.generate()];
    for (const [i, k] of [a, b, c, d].entries()) t.upsert(entry(k!, 1000 + i), 0, true);
    t.markConnected(a!.id, 0);
    t.markFailure(b!.id, 0); // next attempt at 50
    const keys = (now: number): string[] => t.candidates(now, (p) => p.key === d!.id, Math.random).map((p) => p.key).sort();
    expect(keys(10)).toEqual([c!.id].sort());
    expect(keys(60)).toEqual([b!.id, c!.id].sort());
  });

  it('backs off exponentially on repeated failures', () => {
    const t = table();
    const k = NodeKey.generate();
    t.upsert(entry(k, 1000), 0, false);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      t.markFailure(k.id, 0);
      waits.push(t.get(k.id)!.nextAttemptAt);
    }
    expect(waits).toEqual([50, 100, 200, 400, 500, 500]);
  });

  it('lists online peers: connected, or reported within the window', () => {
    const t = table();
    const [a, b, c] = [NodeKey.generate(), NodeKey.generate(), NodeKey.generate()];
    t.upsert(entry(a, 1), 100, true);
    t.upsert(entry(b, 2), 100, false);
    t.upsert(entry(c, 3), 100, true);
    t.markConnected(c.id, 100);
    expect(t.online(500).map((p) => p.key).sort()).toEqual([a.id, c.id].sort());
    expect(t.online(5_000).map((p) => p.key)).toEqual([c.id]);
  });

  it('forgets addresses that keep failing once nobody reports them online, and stays bounded', () => {
    const t = table(3);
    const keys = [NodeKey.generate(), NodeKey.generate(), NodeKey.generate(), NodeKey.generate()];
    keys.slice(0, 3).forEach((k, i) => t.upsert(entry(k, i + 1), 10 + i * 10, true));
    t.markConnected(keys[0]!.id, 0);
    expect(t.upsert(entry(keys[3]!, 9), 100, true)).toBe('added');
    expect(t.size).toBe(3);
    expect(t.get(keys[1]!.id)).toBeUndefined(); // the not-connected one heard of longest ago
    for (let i = 0; i < 3; i++) t.markFailure(keys[2]!.id, 100);
    t.prune(500);
    expect(t.get(keys[2]!.id)).toBeDefined();
    t.prune(5_000);
    expect(t.get(keys[2]!.id)).toBeUndefined();
    expect(t.get(keys[0]!.id)).toBeDefined();
  });
});
