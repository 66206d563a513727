import { InvalidArgumentError } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { BanList, DEFAULT_PENALTIES, PeerScore, scoringPolicy } from './scoring.js';

describe('PeerScore', () => {
  it('starts at 0 and drops by the penalty of each offence', () => {
    const score = new PeerScore(scoringPolicy());
    expect(score.value).toBe(0);
    score.penalize('malformed');
    expect(score.value).toBe(-DEFAULT_PENALTIES.malformed);
    score.penalize('invalid-transaction', 3);
    expect(score.value).toBe(-DEFAULT_PENALTIES.malformed - 3 * DEFAULT_PENALTIES['invalid-transaction']);
  });

  it('is condemned once at or below the threshold', () => {
    const score = new PeerScore(scoringPolicy({ banThreshold: -100 }));
    score.penalize('invalid-block');
    expect(score.condemned).toBe(false);
    score.penalize('invalid-block');
    expect(score.condemned).toBe(true);
    const forged = new PeerScore(scoringPolicy());
    forged.penalize('frame-authentication');
    expect(forged.condemned).toBe(true);
  });

  it('bans a flooding peer after 20 messages over its rate', () => {
    const score = new PeerScore(scoringPolicy());
    let n = 0;
    while (!score.condemned) {
      score.penalize('flooding');
      n++;
    }
    expect(n).toBe(20);
  });

  it('recovers towards 0 over time but never above it by recovery alone', () => {
    const score = new PeerScore(scoringPolicy({ recoveryPerSecond: 2 }));
    score.penalize('malformed');
    score.recover(10_000);
    expect(score.value).toBe(-20);
    score.recover(60_000);
    expect(score.value).toBe(0);
  });

  it('rewards good behaviour up to the maximum', () => {
    const score = new PeerScore(scoringPolicy({ maxScore: 10 }));
    for (let i = 0; i < 50; i++) score.reward(1);
    expect(score.value).toBe(10);
  });

  it('takes custom penalties and refuses bad options', () => {
    const score = new PeerScore(scoringPolicy({ penalties: { flooding: 50 } }));
    score.penalize('flooding', 2);
    expect(score.condemned).toBe(true);
    expect(() => scoringPolicy({ banThreshold: 5 })).toThrow(InvalidArgumentError);
    expect(() => scoringPolicy({ penalties: { nonsense: 1 } as never })).toThrow(InvalidArgumentError);
    expect(() => scoringPolicy({ penalties: { malformed: -1 } })).toThrow(InvalidArgumentError);
  });
});

describe('BanList', () => {
  it('bans until a time, then forgets', () => {
    const bans = new BanList();
    bans.ban('k', 1_000, 'flooding');
    expect(bans.isBanned('k', 999)).toBe(true);
    expect(bans.isBanned('k', 1_000)).toBe(false);
    expect(bans.list(0)).toEqual([]);
  });

  it('keeps the longer of two bans and can be lifted', () => {
    const bans = new BanList();
    bans.ban('k', 5_000, 'a');
    bans.ban('k', 2_000, 'b');
    expect(bans.list(0)).toEqual([{ key: 'k', until: 5_000, reason: 'a' }]);
    expect(bans.unban('k')).toBe(true);
    expect(bans.isBanned('k', 0)).toBe(false);
  });

  it('is bounded, evicting the ban that ends first', () => {
    const bans = new BanList(2);
    bans.ban('a', 100, 'x');
    bans.ban('b', 300, 'x');
    bans.ban('c', 200, 'x');
    expect(bans.list(0).map((b) => b.key).sort()).toEqual(['b', 'c']);
  });
});

describe('PeerScore recovery in whole points', () => {
  it('does not let a few milliseconds between two offences save a peer from the ban', () => {
    const score = new PeerScore(scoringPolicy());
    score.penalize('invalid-block');
    score.recover(60); // a maintenance tick between the two blocks
    score.penalize('invalid-block');
    expect(score.value).toBe(-100);
    expect(score.condemned).toBe(true);
  });

  it('recovers one point per second of accumulated time', () => {
    const score = new PeerScore(scoringPolicy());
    score.penalize('unsolicited');
    for (let i = 0; i < 25; i++) score.recover(100);
    expect(score.value).toBe(-18);
  });
});
