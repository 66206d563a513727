import { randomBytes } from 'node:crypto';
import { HttpClient } from './http.js';

/**
 * Offered load for POST /v1/records/batch: NDJSON batches of `{"payload":"<base64>"}` envelopes sent at a fixed
 * record rate over `connections` keep-alive connections. Batch k is due at start + k * (batch / rate); a connection
 * takes the next due batch when its previous answer is in, so at most `connections` requests are in flight. When
 * the node answers slower than the rate, batches go out late and the achieved rate falls below the offered one:
 * that is the back-pressure the ramp looks for.
 *
 * Payloads are random: every connection holds NDJSON templates of random 1 kB payloads and stamps the first 9 bytes
 * of each payload (12 base64 characters) with a fresh counter before each request, so every record is distinct and
 * building a request costs the benchmark process next to nothing.
 */

const PREFIX = '{"payload":"';
const SUFFIX = '"}\n';
const STAMP_BYTES = 9; // 12 base64 characters, no padding: the rest of the base64 text is unchanged by a stamp
const TEMPLATES_PER_CONNECTION = 4;

export interface BatchOutcome {
  /** performance.now() just before the request was written. */
  readonly sentAt: number;
  readonly answeredAt: number;
  readonly status: number;
  /** Transaction ids (hex) from a 202. */
  readonly ids: readonly string[];
  readonly records: number;
}

class BodyFactory {
  readonly #templates: Buffer[];
  readonly #lineBytes: number;
  readonly #records: number;
  readonly #stampPrefix: number;
  #counter = 0;
  #turn = 0;

  constructor(records: number, payloadBytes: number, connection: number) {
    if (payloadBytes < STAMP_BYTES) throw new Error(`payload of at least ${STAMP_BYTES} bytes needed`);
    const tail = payloadBytes - STAMP_BYTES;
    const tailB64Chars = Math.ceil(tail / 3) * 4;
    this.#lineBytes = PREFIX.length + 12 + tailB64Chars + SUFFIX.length;
    this.#records = records;
    this.#stampPrefix = connection;
    this.#templates = Array.from({ length: TEMPLATES_PER_CONNECTION }, () => {
      const buf = Buffer.alloc(this.#lineBytes * records);
      for (let i = 0; i < records; i++) {
        const at = i * this.#lineBytes;
        buf.write(PREFIX, at, 'latin1');
        buf.write('AAAAAAAAAAAA', at + PREFIX.length, 'latin1');
        buf.write(randomBytes(tail).toString('base64'), at + PREFIX.length + 12, 'latin1');
        buf.write(SUFFIX, at + this.#lineBytes - SUFFIX.length, 'latin1');
      }
      return buf;
    });
  }

  /** A fresh body: a template with new stamps (the template is reused once the request has been written). */
  next(): Buffer {
    const body = this.#templates[this.#turn]!;
    this.#turn = (this.#turn + 1) % this.#templates.length;
    const stamp = Buffer.alloc(STAMP_BYTES);
    for (let i = 0; i < this.#records; i++) {
      stamp.writeUInt8(this.#stampPrefix & 0xff, 0);
      stamp.writeUIntBE(this.#counter++ % 2 ** 48, 1, 6);
      stamp.writeUInt16BE(i, 7);
      body.write(stamp.toString('base64'), i * this.#lineBytes + PREFIX.length, 'latin1');
    }
    return body;
  }
}

export interface BatchLoadOptions {
  readonly apiUrl: string;
  readonly connections: number;
  /** Records per request. */
  readonly batch: number;
  readonly payloadBytes: number;
}

export class BatchLoad {
  readonly #client: HttpClient;
  readonly #factories: BodyFactory[];
  readonly #options: BatchLoadOptions;

  constructor(options: BatchLoadOptions) {
    this.#options = options;
    this.#client = new HttpClient(options.apiUrl, { connections: options.connections, timeoutMs: 120_000 });
    // Distinct stamps per connection: the first stamp byte is the connection number.
    this.#factories = Array.from({ length: options.connections }, (_, c) => new BodyFactory(options.batch, options.payloadBytes, c + 1));
  }

  /**
   * Offers `rate` records per second for `durationMs`; `onOutcome` sees every answer as it arrives. Resolves when
   * every request sent has been answered (or has failed). Never sends more than `durationMs * rate` records.
   */
  async run(rate: number, durationMs: number, onOutcome: (o: BatchOutcome) => void): Promise<{ readonly sent: number; readonly late: number }> {
    const period = (this.#options.batch / rate) * 1000;
    const start = performance.now();
    const end = start + durationMs;
    const total = Math.max(1, Math.floor((durationMs / 1000) * (rate / this.#options.batch)));
    let next = 0;
    let sent = 0;
    let late = 0;
    const connection = async (c: number): Promise<void> => {
      const factory = this.#factories[c]!;
      for (;;) {
        const k = next++;
        if (k >= total) return;
        const due = start + k * period;
        if (due >= end) return;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        else if (wait < -period) late++;
        const body = factory.next();
        const sentAt = performance.now();
        sent += this.#options.batch;
        let status = 0;
        let ids: readonly string[] = [];
        try {
          const res = await this.#client.send('POST', '/v1/records/batch', body, { 'content-type': 'application/x-ndjson' });
          status = res.status;
          if (status === 202) ids = (JSON.parse(res.body.toString('utf8')) as { ids: string[] }).ids;
        } catch {
          status = -1;
        }
        onOutcome({ sentAt, answeredAt: performance.now(), status, ids, records: this.#options.batch });
      }
    };
    await Promise.all(Array.from({ length: this.#options.connections }, (_, c) => connection(c)));
    return { sent, late };
  }

  close(): void {
    this.#client.close();
  }
}
