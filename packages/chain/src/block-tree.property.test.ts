import { blockHash, toHex, transactionId, type Block, type Transaction } from '@safechain/core';
import { MemoryStore } from '@safechain/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockTree } from './block-tree.js';
import { BlockFactory, makeTx, ManualClock, singleChain, T0 } from './test-support.js';

const chain = singleChain();
/** A few transactions several blocks may include, so some branches hold duplicates and some blocks are invalid. */
const sharedPool: Transaction[] = [makeTx(chain.chainId, 'shared 0'), makeTx(chain.chainId, 'shared 1'), makeTx(chain.chainId, 'shared 2')];

interface Shape {
  /** parents[i]: 0 for genesis, j for the j-th block (1-based, j <= i). */
  readonly parents: readonly number[];
  /** shared[i]: index into `sharedPool`, or -1 for none. */
  readonly shared: readonly number[];
}

const shapeArb: fc.Arbitrary<Shape> = fc.integer({ min: 2, max: 10 }).chain((n) =>
  fc.record({
    parents: fc.tuple(...Array.from({ length: n }, (_, i) => fc.integer({ min: Math.max(0, i - 3), max: i }))),
    shared: fc.tuple(...Array.from({ length: n }, () => fc.integer({ min: -1, max: sharedPool.length - 1 }))),
  }),
);

async function buildBlocks(shape: Shape): Promise<Block[]> {
  const factory = new BlockFactory(chain);
  const blocks: Block[] = [];
  for (let i = 0; i < shape.parents.length; i++) {
    const p = shape.parents[i]!;
    const parent = p === 0 ? chain.genesis : blocks[p - 1]!;
    const txs = [makeTx(chain.chainId, `block ${i}`)];
    const s = shape.shared[i]!;
    if (s >= 0) txs.push(sharedPool[s]!);
    // Distinct timestamps: siblings never coincide.
    blocks.push(await factory.child(parent, txs, { timestamp: parent.header.timestamp + 1000 + i }));
  }
  return blocks;
}

interface Outcome {
  readonly tip: string;
  readonly canonical: readonly string[];
  readonly located: readonly string[];
}

async function deliver(blocks: readonly Block[], order: readonly number[]): Promise<Outcome> {
  const store = new MemoryStore();
  const tree = await BlockTree.open({ store, consensus: chain.consensus, genesis: chain.genesis, now: new ManualClock(T0 + 1e9).now });
  for (const i of order) await tree.addBlock(blocks[i]!);
  const canonical: string[] = [];
  for (let h = 0; h <= tree.tip.height; h++) canonical.push(toHex((await tree.getCanonicalHash(h))!));
  const located: string[] = [];
  for (const b of blocks) {
    for (const tx of b.data) {
      const found = await tree.getTransaction(transactionId(tx));
      located.push(found === undefined ? '-' : `${toHex(found.blockHash)}:${found.index}`);
    }
  }
  return { tip: toHex(tree.tip.hash), canonical, located };
}

/**
 * The oracle, computed apart from the tree: a block is valid when its parent is and no transaction of it is in its
 * ancestry; the tip is the valid block of greatest height (work 1 per block), the lower hash among equals.
 */
function expectedTip(shape: Shape, blocks: readonly Block[]): string {
  const history: (Set<string> | null)[] = [];
  let best = { height: 0, hash: toHex(chain.chainId) };
  for (let i = 0; i < blocks.length; i++) {
    const p = shape.parents[i]!;
    const parentHistory = p === 0 ? new Set<string>() : history[p - 1]!;
    const ids = blocks[i]!.data.map((tx) => toHex(transactionId(tx)));
    if (parentHistory === null || ids.some((id) => parentHistory.has(id))) {
      history.push(null);
      continue;
    }
    history.push(new Set([...parentHistory, ...ids]));
    const candidate = { height: blocks[i]!.header.height, hash: toHex(blockHash(blocks[i]!.header)) };
    if (candidate.height > best.height || (candidate.height === best.height && candidate.hash < best.hash)) best = candidate;
  }
  return best.hash;
}

describe('BlockTree (property)', () => {
  it('converges to the same canonical chain whatever order the blocks of a forked tree arrive in', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb.chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.array(fc.shuffledSubarray(shape.parents.map((_, i) => i), { minLength: shape.parents.length }), {
              minLength: 2,
              maxLength: 4,
            }),
          ),
        ),
        async ([shape, orders]) => {
          const blocks = await buildBlocks(shape);
          const inHeightOrder = blocks.map((_, i) => i);
          const reference = await deliver(blocks, inHeightOrder);
          for (const order of orders) {
            // Deliver each order twice over: repeats must change nothing.
            expect(await deliver(blocks, [...order, ...order])).toEqual(reference);
          }
          expect(reference.tip).toBe(expectedTip(shape, blocks));
        },
      ),
      { numRuns: 60 },
    );
  });
});
