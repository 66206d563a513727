import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command, NodeConfig } from '../fixtures/chain-node.js';

const fixture = fileURLToPath(new URL('../fixtures/chain-node.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

type CommandBody = Command extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

/** A chain node in its own process, driven over IPC. */
export class ChildNode {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  key = '';
  address = '';
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  readonly stderr: string[] = [];

  private constructor(child: ChildProcess) {
    this.child = child;
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.stderr?.on('data', (d: Buffer) => {
      if (this.stderr.length < 200) this.stderr.push(d.toString());
    });
    child.stdout?.resume();
    child.on('message', (message: { id: number; error?: string } & Record<string, unknown>) => {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      if (message.error !== undefined) pending.reject(new Error(message.error));
      else pending.resolve(message);
    });
    void this.exited.then(() => {
      for (const p of this.#pending.values()) p.reject(new Error(`node exited; stderr: ${this.stderr.join('').slice(-2000)}`));
      this.#pending.clear();
    });
  }

  /** Spawns a node and waits until its network listens. */
  static async start(config: NodeConfig, timeoutMs = 60_000): Promise<ChildNode> {
    const child = spawn(process.execPath, ['--conditions=@safechain/source', '--import', 'tsx', fixture], {
      cwd: repoRoot,
      env: { ...process.env, SAFECHAIN_NODE: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const node = new ChildNode(child);
    const ready = new Promise<Record<string, unknown>>((resolve, reject) => node.#pending.set(0, { resolve, reject }));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      const info = await ready;
      node.key = String(info.key);
      node.address = String(info.address);
    } finally {
      clearTimeout(timer);
    }
    return node;
  }

  request(body: CommandBody, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${body.cmd} unanswered after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ id, ...body });
    });
  }

  async status(): Promise<{ height: number; tip: string; mempool: number; peers: string[]; known: number; online: number }> {
    return (await this.request({ cmd: 'status' })) as never;
  }

  /** Stops cleanly, or kills after a grace period. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    try {
      await this.request({ cmd: 'stop' }, 5_000).catch(() => undefined);
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): Promise<number | null> {
    this.child.kill('SIGKILL');
    return this.exited;
  }
}
