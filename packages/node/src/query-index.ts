import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fromHex, SafechainError, toHex, type Block } from '@safechain/core';
import type { BlockTree, TipChangedEvent } from '@safechain/chain';
import type { ChainStore } from '@safechain/storage';
import type { Logger } from './logger.js';

/**
 * The archive query index behind GraphQL: canonical transactions by trace code, origin, content type and creation
 * time. It lives in its own SQLite file beside the store and works with every store adapter. It is derived data:
 * it follows the canonical chain (`tip:changed`), catches up from the store on start, and is rebuilt from scratch
 * when it no longer matches the chain, so it is written without fsync on every commit.
 */

/** A query cursor is not one this index handed out. */
export class InvalidCursorError extends SafechainError {
  override readonly name = 'InvalidCursorError' as const;
}

export interface IndexQuery {
  readonly traceCode?: string;
  readonly origin?: string;
  readonly contentType?: string;
  readonly from?: number;
  readonly to?: number;
  readonly limit: number;
  readonly after?: string;
}

export interface IndexPage {
  readonly ids: readonly string[];
  readonly next: string | null;
}

/**
 * Layout version, kept in `state`; an index file of another layout is dropped and rebuilt from the chain.
 * Version 2 has no index on `id`: ids are random, and keeping a unique index on them cost more than all the others
 * together on every block; nothing looks a transaction up by id here (the store does that), and a transaction is on
 * the canonical chain once, so the rows above a fork point, deleted before they are rewritten, are the only ones that
 * could repeat.
 */
const LAYOUT_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tx (
  n INTEGER PRIMARY KEY,
  id BLOB NOT NULL,
  origin BLOB NOT NULL,
  content_type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  height INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS tx_by_origin ON tx (origin, n);
CREATE INDEX IF NOT EXISTS tx_by_type ON tx (content_type, n);
CREATE INDEX IF NOT EXISTS tx_by_time ON tx (created_at, n);
CREATE INDEX IF NOT EXISTS tx_by_height ON tx (height);
CREATE TABLE IF NOT EXISTS trace (code TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (code, n)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
`;

/** Blocks kept from `block:added` until the index has taken them (a few suffice: it follows the tip closely). */
const RECENT_BLOCKS = 8;

export class QueryIndex {
  readonly #db: Database.Database;
  readonly #tree: BlockTree;
  readonly #store: ChainStore;
  readonly #log: Logger;
  #unsubscribe: (() => void) | undefined;
  #queue: Promise<void> = Promise.resolve();
  /** The last blocks the tree added, by hex hash (see `open`). */
  readonly #recent = new Map<string, Block>();
  readonly #insertTx: Database.Statement;
  readonly #insertTrace: Database.Statement;
  readonly #setState: Database.Statement;

  private constructor(path: string, tree: BlockTree, store: ChainStore, log: Logger) {
    mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    // Derived data, rebuilt when it falls behind: no fsync per commit.
    this.#db.pragma('synchronous = OFF');
    this.#db.exec('CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT');
    const layout = this.#db.prepare("SELECT value FROM state WHERE key = 'layout'").pluck().get() as Buffer | undefined;
    if (layout === undefined || layout.length !== 1 || layout[0] !== LAYOUT_VERSION) {
      this.#db.exec('DROP TABLE IF EXISTS trace; DROP TABLE IF EXISTS tx; DELETE FROM state;');
      this.#db.prepare("INSERT INTO state (key, value) VALUES ('layout', ?)").run(Buffer.of(LAYOUT_VERSION));
    }
    this.#db.exec(SCHEMA);
    this.#tree = tree;
    this.#store = store;
    this.#log = log;
    this.#insertTx = this.#db.prepare('INSERT INTO tx (id, origin, content_type, created_at, height) VALUES (?, ?, ?, ?, ?)');
    this.#insertTrace = this.#db.prepare('INSERT OR IGNORE INTO trace (code, n) VALUES (?, ?)');
    this.#setState = this.#db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  }

  /** Opens the index, catches up with the chain (progress in the log), and follows it from then on. */
  static async open(path: string, tree: BlockTree, store: ChainStore, log: Logger): Promise<QueryIndex> {
    const index = new QueryIndex(path, tree, store, log);
    await index.#catchUp();
    // The tree announces a reorg (with its fork point) just before the matching tip change.
    let forkPoint: number | undefined;
    const offReorg = tree.on('reorg', (event) => {
      forkPoint = event.forkPoint.height;
    });
    // The tree hands every stored block over just before the tip moves onto it: kept for a moment, it saves reading
    // (and decoding) the block back from the store.
    const offAdded = tree.on('block:added', (event) => {
      index.#recent.set(toHex(event.hash), event.block);
      if (index.#recent.size > RECENT_BLOCKS) index.#recent.delete(index.#recent.keys().next().value!);
    });
    const offTip = tree.on('tip:changed', (event) => {
      const fork = forkPoint ?? event.previous.height;
      forkPoint = undefined;
      index.#queue = index.#queue.then(() => index.#follow(event, fork)).catch((error: unknown) => log.error('query index update failed', { error }));
    });
    index.#unsubscribe = (): void => {
      offReorg();
      offAdded();
      offTip();
    };
    return index;
  }

  #state(key: string): Uint8Array | undefined {
    const row = this.#db.prepare('SELECT value FROM state WHERE key = ?').get(key) as { value: Buffer } | undefined;
    return row === undefined ? undefined : new Uint8Array(row.value);
  }

  /** Indexes canonical blocks from the last indexed height (or from scratch when the index left the chain). */
  async #catchUp(): Promise<void> {
    const heightBytes = this.#state('height');
    const hashBytes = this.#state('hash');
    let from = 1;
    if (heightBytes !== undefined && hashBytes !== undefined) {
      const height = Number(new DataView(heightBytes.buffer, heightBytes.byteOffset, 8).getBigUint64(0));
      const canonical = await this.#store.getCanonicalHash(height);
      if (canonical !== undefined && toHex(canonical) === toHex(hashBytes)) from = height + 1;
      else this.#db.exec("DELETE FROM trace; DELETE FROM tx; DELETE FROM state WHERE key <> 'layout';");
    }
    const tip = this.#tree.tip.height;
    let last = Date.now();
    for (let h = from; h <= tip; h++) {
      const hash = await this.#store.getCanonicalHash(h);
      if (hash === undefined) break;
      const block = await this.#store.getBlock(hash);
      const ids = await this.#store.getLeaves(hash);
      if (block === undefined || ids === undefined) break;
      this.#index([{ block, ids, hash }]);
      if (Date.now() - last > 2000) {
        last = Date.now();
        this.#log.info('query index catching up', { height: h, tip });
      }
    }
  }

  async #follow(event: TipChangedEvent, forkHeight: number): Promise<void> {
    // Everything above the fork point (on an extension: the old tip) is re-read from the canonical chain.
    this.#db.prepare('DELETE FROM trace WHERE n IN (SELECT n FROM tx WHERE height > ?)').run(forkHeight);
    this.#db.prepare('DELETE FROM tx WHERE height > ?').run(forkHeight);
    const blocks: { block: Block; ids: readonly Uint8Array[]; hash: Uint8Array }[] = [];
    // On a plain extension by one block, the event's `included` ids are that block's ids, in order.
    const extension = forkHeight === event.previous.height && event.tip.height === forkHeight + 1;
    for (let h = forkHeight + 1; h <= event.tip.height; h++) {
      const hash = await this.#store.getCanonicalHash(h);
      if (hash === undefined) return;
      const key = toHex(hash);
      const block = this.#recent.get(key) ?? (await this.#store.getBlock(hash));
      this.#recent.delete(key);
      const ids = extension && block !== undefined && event.included.length === block.data.length ? event.included : await this.#store.getLeaves(hash);
      if (block === undefined || ids === undefined) return;
      blocks.push({ block, ids, hash });
    }
    this.#index(blocks);
  }

  #index(blocks: readonly { block: Block; ids: readonly Uint8Array[]; hash: Uint8Array }[]): void {
    if (blocks.length === 0) return;
    this.#db.transaction(() => {
      for (const { block, ids, hash } of blocks) {
        block.data.forEach((tx, i) => {
          const h = tx.header;
          const info = this.#insertTx.run(ids[i]!, h.origin, h.contentType, h.createdAt, block.header.height);
          for (const code of h.traceCodes) this.#insertTrace.run(code, info.lastInsertRowid);
        });
        const height = new Uint8Array(8);
        new DataView(height.buffer).setBigUint64(0, BigInt(block.header.height));
        this.#setState.run('height', height);
        this.#setState.run('hash', hash);
      }
    })();
  }

  /** Transaction ids matching every given filter, oldest first, a page at a time. @throws InvalidCursorError */
  query(q: IndexQuery): IndexPage {
    const where: string[] = [];
    const args: (string | number | Buffer)[] = [];
    let from = 'tx';
    if (q.traceCode !== undefined) {
      from = 'trace JOIN tx ON tx.n = trace.n';
      where.push('trace.code = ?');
      args.push(q.traceCode);
    }
    if (q.origin !== undefined) {
      where.push('tx.origin = ?');
      args.push(Buffer.from(fromHex(q.origin.toLowerCase(), 32)));
    }
    if (q.contentType !== undefined) {
      where.push('tx.content_type = ?');
      args.push(q.contentType);
    }
    if (q.from !== undefined) {
      where.push('tx.created_at >= ?');
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('tx.created_at <= ?');
      args.push(q.to);
    }
    if (q.after !== undefined) {
      if (!/^\d{1,15}$/.test(q.after)) throw new InvalidCursorError(`cursor "${q.after}" is not one this node handed out`);
      where.push('tx.n > ?');
      args.push(Number(q.after));
    }
    const sql = `SELECT tx.n AS n, tx.id AS id FROM ${from}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY tx.n LIMIT ?`;
    const rows = this.#db.prepare(sql).all(...args, q.limit + 1) as { n: number; id: Buffer }[];
    const page = rows.slice(0, q.limit);
    return {
      ids: page.map((r) => toHex(new Uint8Array(r.id))),
      next: rows.length > q.limit ? String(page[page.length - 1]!.n) : null,
    };
  }

  /** Waits for pending updates, then closes the file. */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    await this.#queue;
    this.#db.close();
  }
}
