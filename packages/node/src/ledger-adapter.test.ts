import { blockHash, createTransaction, NodeKey, transactionId, utf8, verifyTransaction, ZERO_HASH, type Block, type Transaction } from '@safechain/core';
import { createGenesisBlock, singleConsensus } from '@safechain/consensus';
import { BlockTree, Mempool } from '@safechain/chain';
import { MemoryStore } from '@safechain/storage';
import { describe, expect, it } from 'vitest';
import { createLedgerAdapter } from './ledger-adapter.js';
import { KnownValidTransactions } from './verifier.js';

const producer = NodeKey.fromSeed(new Uint8Array(32).fill(3));
const peer = NodeKey.fromSeed(new Uint8Array(32).fill(4));
const T0 = 1_700_000_000_000;
const from = { key: peer.id, address: '127.0.0.1:1' };

async function setup(maxCount: number, known = new KnownValidTransactions(), cosign?: (block: Block) => Promise<Uint8Array | undefined>) {
  const consensus = singleConsensus({ producers: [producer.id] });
  const genesis = createGenesisBlock({ name: 'ledger-adapter', consensus: { engine: 'single', producers: [producer.id] } }, T0);
  const chainId = blockHash(genesis.header);
  const store = new MemoryStore();
  const tree = await BlockTree.open({ store, consensus, genesis, now: () => T0 + 10_000 });
  const mempool = await Mempool.open({ store, maxCount, maxBytes: 1 << 20, chain: tree, verifyTransactions: false });
  const adapter = createLedgerAdapter({
    tree,
    mempool,
    known,
    verify: async (txs) => txs.map((tx) => verifyTransaction(tx, { chainId }).valid),
    ...(cosign === undefined ? {} : { cosign }),
  });
  let sequence = 0;
  const tx = (): Transaction =>
    createTransaction({ chainId, payload: utf8(`reading ${sequence}`), sequence: sequence++, createdAt: T0, contentType: 'text/plain', traceCodes: [] }, peer);
  return { store, mempool, adapter, tx };
}

async function storedPending(store: MemoryStore): Promise<number> {
  let n = 0;
  for await (const _ of store.pending()) n++;
  return n;
}

describe('the node ledger adapter', () => {
  it("holds peers' transactions in the mempool without writing them to the store", async () => {
    const { store, mempool, adapter, tx } = await setup(10);
    const txs = [tx(), tx(), tx()];
    expect(await adapter.acceptTransactions(txs, from)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(mempool.size).toBe(3);
    expect(await storedPending(store)).toBe(0);
    // The same again: known, not blamed, not relayed.
    expect(await adapter.acceptTransactions(txs, from)).toEqual(['ignored', 'ignored', 'ignored']);
  });

  it('remembers the verified payload arrays, so their block does not hash them again, and only those arrays', async () => {
    const known = new KnownValidTransactions();
    const { adapter, tx } = await setup(10, known);
    const t = tx();
    expect(await adapter.acceptTransactions([t], from)).toEqual(['accepted']);
    const id = transactionId(t);
    expect(known.has(id)).toBe(true);
    expect(known.hashedByUs(id, t.payload!)).toBe(true);
    expect(known.hashedByUs(id, t.payload!.slice())).toBe(false);
  });

  it('answers busy when the mempool has no room, so the network lets them come again', async () => {
    const { mempool, adapter, tx } = await setup(2);
    expect(await adapter.acceptTransactions([tx(), tx()], from)).toEqual(['accepted', 'accepted']);
    const late = [tx(), tx()];
    expect(await adapter.acceptTransactions(late, from)).toEqual(['busy', 'busy']);
    expect(mempool.size).toBe(2);
    expect(mempool.has(transactionId(late[0]!))).toBe(false);
  });

  it('blames a bad signature and ignores a stripped copy', async () => {
    const { adapter, tx } = await setup(10);
    const good = tx();
    const forged: Transaction = { ...good, signature: new Uint8Array(64).fill(1) };
    const stripped: Transaction = { header: tx().header, signature: good.signature };
    expect(await adapter.acceptTransactions([forged, stripped, good], from)).toEqual(['invalid', 'ignored', 'accepted']);
  });

  it('seals only for the proposer named in the block, and only with a cosign hook', async () => {
    const asked: Block[] = [];
    const { adapter } = await setup(10, undefined, async (block) => {
      asked.push(block);
      return new Uint8Array(64).fill(7);
    });
    const block: Block = {
      header: { height: 1, timestamp: T0 + 1, previousHash: ZERO_HASH, merkleRoot: ZERO_HASH, txCount: 0, difficulty: 1n, nonces: [], extraData: peer.publicKey, signatures: [] },
      data: [],
    };
    expect(await adapter.cosign!(block, from)).toEqual(new Uint8Array(64).fill(7));
    expect(await adapter.cosign!(block, { key: producer.id, address: '127.0.0.1:2' })).toBeUndefined();
    expect(await adapter.cosign!({ ...block, header: { ...block.header, extraData: new Uint8Array(0) } }, from)).toBeUndefined();
    expect(asked).toHaveLength(1);
    const { adapter: plain } = await setup(10);
    expect(plain.cosign).toBeUndefined();
  });
});
