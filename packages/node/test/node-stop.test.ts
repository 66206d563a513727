/**
 * A stopping node does not wait on its API's clients: a connection holding a half-sent request (a slow or hostile
 * client) is cut after a grace period, and SIGTERM still ends the process with exit 0.
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killChildren, postJson, removeDir, startFullNode, tempDir } from './helpers/node-process.js';

const dirs: string[] = [];
afterAll(async () => {
  await killChildren();
  for (const d of dirs) await removeDir(d);
});

describe('stopping a node with API clients still connected', () => {
  it('cuts a connection that holds a half-sent request after the grace period and exits 0', async () => {
    const root = await tempDir('stop');
    dirs.push(root);
    const node = await startFullNode(join(root, 'node'), { env: { SAFECHAIN_LOG_LEVEL: 'info', SAFECHAIN_WORKERS: '1' } });
    expect((await postJson(`${node.url}/v1/records`, { json: { reading: 1 } })).status).toBe(202);
    const { hostname, port } = new URL(node.url);
    const socket: Socket = connect(Number(port), hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    // Headers of a 1,000-byte body, then one byte of it, and nothing more.
    socket.write(`POST /v1/records HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    const exit = await node.stop(20_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(15_000);
    await ended;
    expect(node.output()).toMatch(/closing the API connections still open/);
  }, 60_000);
});
