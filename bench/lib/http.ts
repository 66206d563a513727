import { Agent, request } from 'node:http';

/**
 * A small keep-alive HTTP client for 127.0.0.1: one agent per client, so a benchmark's load connections and its
 * watcher's polling connections do not queue behind each other.
 */

export interface HttpResponse {
  readonly status: number;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export class HttpClient {
  readonly #base: URL;
  readonly #agent: Agent;
  readonly #timeoutMs: number;

  constructor(baseUrl: string, options: { readonly connections: number; readonly timeoutMs?: number }) {
    this.#base = new URL(baseUrl);
    this.#agent = new Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** One request; rejects on a socket error or after the timeout. */
  send(method: string, path: string, body?: Buffer, headers: Readonly<Record<string, string>> = {}): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = request(
        {
          host: this.#base.hostname,
          port: this.#base.port,
          method,
          path,
          agent: this.#agent,
          headers: body === undefined ? headers : { 'content-length': String(body.length), ...headers },
          timeout: this.#timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${this.#timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** GET and parse JSON; undefined on 404. @throws on other non-2xx statuses */
  async getJson<T>(path: string): Promise<T | undefined> {
    const res = await this.send('GET', path);
    if (res.status === 404) return undefined;
    if (res.status < 200 || res.status > 299) throw new Error(`GET ${path}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 200)}`);
    return JSON.parse(res.body.toString('utf8')) as T;
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** What the node's GET /v1/status answers (the fields the benchmarks read). */
export interface StatusView {
  readonly height: number;
  readonly tip: string;
  readonly mempool: { readonly count: number; readonly bytes: number };
  readonly store: { readonly bytes: number };
}

/** What GET /v1/blocks/:height answers (the fields the benchmarks read). */
export interface BlockView {
  readonly hash: string;
  readonly height: number;
  readonly timestamp: number;
  readonly txCount: number;
  readonly canonical: boolean;
  readonly transactionIds: readonly string[];
}
