import { blockHash, toHex, transactionId, type BlockHeader, type Transaction } from '@safechain/core';
import { MemoryStore } from '@safechain/storage';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BlockTree } from './block-tree.js';
import { Mempool } from './mempool.js';
import { BlockProducer, type BlockProducerEvents, type BlockProducerOptions } from './producer.js';
import { BlockFactory, keyOf, makeTx, makeTxs, ManualClock, poaChain, singleChain, T0, type TestChain } from './test-support.js';

async function setup(chain: TestChain = singleChain(), options: Partial<BlockProducerOptions> = {}) {
  const store = new MemoryStore();
  const clock = new ManualClock(T0 + 1_000_000);
  const tree = await BlockTree.open({ store, consensus: chain.consensus, genesis: chain.genesis, now: clock.now });
  const mempool = await Mempool.open({ store, maxCount: 1000, maxBytes: 1 << 22, chain: tree });
  const producer = new BlockProducer({ tree, mempool, consensus: chain.consensus, key: chain.sealers[0]!, now: clock.now, ...options });
  return { chain, store, clock, tree, mempool, producer };
}

function next<K extends keyof BlockProducerEvents>(producer: BlockProducer, name: K): Promise<BlockProducerEvents[K]> {
  return new Promise((resolve) => {
    const off = producer.on(name, (e) => {
      off();
      resolve(e);
    });
  });
}

const hex = (tx: Transaction): string => toHex(transactionId(tx));

afterEach(() => {
  vi.useRealTimers();
});

describe('BlockProducer.produce', () => {
  it('cuts the pending transactions into a canonical block and empties the pool in the same commit', async () => {
    const { chain, store, tree, mempool, producer } = await setup();
    const txs = makeTxs(chain.chainId, 4);
    await mempool.add(txs);
    const produced: BlockProducerEvents['block:produced'][] = [];
    producer.on('block:produced', (e) => produced.push(e));
    const block = await producer.produce();
    expect(block).not.toBeNull();
    expect(block!.data.map(hex)).toEqual(txs.map(hex));
    expect(toHex(tree.tip.hash)).toBe(toHex(blockHash(block!.header)));
    expect(produced).toHaveLength(1);
    expect(produced[0]!.result.status).toBe('canonical');
    expect(mempool.size).toBe(0);
    const pending = [];
    for await (const p of store.pending()) pending.push(p);
    expect(pending).toHaveLength(0);
  });

  it('cuts nothing from an empty pool unless empty blocks are configured', async () => {
    const quiet = await setup();
    expect(await quiet.producer.produce()).toBeNull();
    expect(quiet.tree.tip.height).toBe(0);

    const heartbeat = await setup(singleChain(), { emptyBlocks: true });
    const block = await heartbeat.producer.produce();
    expect(block?.data).toEqual([]);
    expect(heartbeat.tree.tip.height).toBe(1);
  });

  it('answers null when it is not this node\'s turn (not a producer of the chain)', async () => {
    const chain = singleChain();
    const { mempool, tree, producer } = await setup(chain, { key: keyOf(88) });
    await mempool.add(makeTxs(chain.chainId, 2));
    expect(await producer.produce()).toBeNull();
    expect(tree.tip.height).toBe(0);
    expect(mempool.size).toBe(2);
  });

  it('bounds a block by maxBlockTransactions and maxBlockBytes, keeping arrival order across blocks', async () => {
    const chain = singleChain();
    const { mempool, producer } = await setup(chain, { maxBlockTransactions: 2 });
    const txs = makeTxs(chain.chainId, 5);
    await mempool.add(txs);
    const cuts: string[][] = [];
    for (let i = 0; i < 3; i++) cuts.push((await producer.produce())!.data.map(hex));
    expect(cuts).toEqual([txs.slice(0, 2).map(hex), txs.slice(2, 4).map(hex), [hex(txs[4]!)]]);

    const bySize = await setup(chain, { maxBlockBytes: 2000 }); // about 830 bytes each: two fit, three do not
    const big = [makeTx(chain.chainId, new Uint8Array(600)), makeTx(chain.chainId, new Uint8Array(600)), makeTx(chain.chainId, new Uint8Array(600))];
    await bySize.mempool.add(big);
    expect((await bySize.producer.produce())!.data).toHaveLength(2);
  });

  it('never runs two productions at once', async () => {
    const chain = singleChain();
    const { mempool, tree, producer } = await setup(chain);
    await mempool.add(makeTxs(chain.chainId, 2));
    const first = producer.produce();
    const second = producer.produce();
    expect(second).toBe(first);
    await first;
    expect(tree.tip.height).toBe(1);
  });

  it('gathers further seals for proof of authority above threshold one', async () => {
    const validators = [keyOf(21), keyOf(22), keyOf(23)];
    const chain = poaChain(validators, 2);
    const sorted = [...validators].sort((a, b) => (a.id < b.id ? -1 : 1));
    // Height 1's in-turn proposer is validator 1 in key order.
    const proposer = sorted[1]!;
    const cosigner = sorted[2]!;
    const { mempool, tree, producer } = await setup(chain, {
      key: proposer,
      collectSeals: (header: BlockHeader) => chain.consensus.seal(header, cosigner),
    });
    await mempool.add(makeTxs(chain.chainId, 1));
    const block = await producer.produce();
    expect(block).not.toBeNull();
    expect(block!.header.signatures).toHaveLength(2);
    expect(chain.consensus.isFinal(block!.header)).toBe(true);
    expect(tree.tip.height).toBe(1);
  });

  it('reports a block the tree refuses as production:failed and resolves null', async () => {
    const chain = singleChain();
    const store = new MemoryStore();
    const clock = new ManualClock(T0 + 1_000_000);
    const tree = await BlockTree.open({ store, consensus: chain.consensus, genesis: chain.genesis, now: clock.now });
    // A pool told to skip verification takes a forged transaction; the tree checks every block anyway.
    const mempool = await Mempool.open({ store, maxCount: 10, maxBytes: 1 << 20, chain: tree, verifyTransactions: false });
    await mempool.add([{ ...makeTx(chain.chainId), signature: new Uint8Array(64).fill(1) }]);
    const producer = new BlockProducer({ tree, mempool, consensus: chain.consensus, key: chain.sealers[0]!, now: clock.now });
    const failed = next(producer, 'production:failed');
    expect(await producer.produce()).toBeNull();
    const event = await failed;
    expect(event.result?.status).toBe('invalid');
    if (event.result?.status === 'invalid') expect(event.result.reason).toBe('bad-transaction-signature');
  });

  it('drops a pending transaction that reached the chain by another path instead of including it again', async () => {
    const chain = singleChain();
    const store = new MemoryStore();
    const clock = new ManualClock(T0 + 1_000_000);
    const tree = await BlockTree.open({ store, consensus: chain.consensus, genesis: chain.genesis, now: clock.now });
    // Not following the tree: it does not hear about the peer's block below.
    const mempool = await Mempool.open({ store, maxCount: 10, maxBytes: 1 << 20 });
    const tx = makeTx(chain.chainId);
    await mempool.add([tx]);
    await tree.addBlock(await new BlockFactory(chain).child(chain.genesis, [tx]));
    expect(mempool.size).toBe(1);
    const producer = new BlockProducer({ tree, mempool, consensus: chain.consensus, key: chain.sealers[0]!, now: clock.now });
    expect(await producer.produce()).toBeNull();
    expect(mempool.size).toBe(0);
    expect(tree.tip.height).toBe(1);
  });
});

describe('BlockProducer.start / stop', () => {
  it('cuts as soon as a full block of transactions is pending', async () => {
    const chain = singleChain();
    const { mempool, tree, producer } = await setup(chain, { blockIntervalMs: 3_600_000, maxBlockTransactions: 3 });
    producer.start();
    const produced = next(producer, 'block:produced');
    await mempool.add(makeTxs(chain.chainId, 2));
    expect(tree.tip.height).toBe(0);
    await mempool.add(makeTxs(chain.chainId, 1));
    const event = await produced;
    expect(event.block.data).toHaveLength(3);
    await producer.stop();
    expect(tree.tip.height).toBe(1);
  });

  it('keeps cutting while more than a block is pending', async () => {
    const chain = singleChain();
    const { mempool, tree, producer } = await setup(chain, { blockIntervalMs: 3_600_000, maxBlockTransactions: 2 });
    let count = 0;
    const three = new Promise<void>((resolve) =>
      producer.on('block:produced', () => {
        if (++count === 3) resolve();
      }),
    );
    producer.start();
    await mempool.add(makeTxs(chain.chainId, 6));
    await three;
    await producer.stop();
    expect(tree.tip.height).toBe(3);
    expect(mempool.size).toBe(0);
  });

  it('cuts on the interval', async () => {
    vi.useFakeTimers();
    const chain = singleChain();
    const { mempool, tree, producer } = await setup(chain, { blockIntervalMs: 1000 });
    producer.start();
    await mempool.add(makeTxs(chain.chainId, 1));
    await vi.advanceTimersByTimeAsync(999);
    expect(tree.tip.height).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(tree.tip.height).toBe(1);
    // Nothing pending: the next ticks cut nothing.
    await vi.advanceTimersByTimeAsync(5000);
    expect(tree.tip.height).toBe(1);
    await mempool.add(makeTxs(chain.chainId, 1));
    await vi.advanceTimersByTimeAsync(1000);
    expect(tree.tip.height).toBe(2);
    await producer.stop();
    await mempool.add(makeTxs(chain.chainId, 1));
    await vi.advanceTimersByTimeAsync(5000);
    expect(tree.tip.height).toBe(2);
  });

  it('stop() aborts a seal in progress and waits for the production to settle', async () => {
    const chain = singleChain();
    let sealing!: () => void;
    const sealingStarted = new Promise<void>((resolve) => {
      sealing = resolve;
    });
    const { mempool, tree, producer } = await setup(chain, {
      collectSeals: (_header, signal) =>
        new Promise((_resolve, reject) => {
          sealing();
          signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
        }),
    });
    await mempool.add(makeTxs(chain.chainId, 1));
    const production = producer.produce();
    await sealingStarted;
    await producer.stop();
    expect(await production).toBeNull();
    expect(tree.tip.height).toBe(0);
    expect(mempool.size).toBe(1);
  });
});
