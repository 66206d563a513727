import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import mercurius from 'mercurius';
import { fromBase64, utf8 } from '@safechain/core';
import type { NodeService, RecordInput, TransactionQuery, TxView } from './service.js';

/**
 * The node's HTTP API (fastify) and, on archive and full nodes, its GraphQL endpoint. Every error answers with a JSON
 * body `{ error, message, hint }` and the status that says what to do: 400 fix the request, 404 no such thing,
 * 413 send less, 429 retry later (Retry-After), 503 the node cannot take it now.
 */

export interface ApiOptions {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly maxBatchRecords: number;
}

interface ErrorBody {
  readonly error: string;
  readonly message: string;
  readonly hint: string;
}

/** An API failure with its HTTP status. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly retryAfterSeconds?: number,
  ) {
    super(body.message);
  }
}

const badRequest = (error: string, message: string, hint: string): HttpError => new HttpError(400, { error, message, hint });
const notFound = (error: string, message: string): HttpError =>
  new HttpError(404, { error, message, hint: 'check the id or hash; ids and hashes are 64 lower-case hex characters' });

const HEX64 = /^[0-9a-f]{64}$/;
const MAX_META_CHARS = 4096;

function hex64(value: string, what: string): string {
  const v = value.toLowerCase();
  if (!HEX64.test(v)) throw badRequest(`invalid-${what.replace(/ /g, '-')}`, `${what} must be 64 hex characters`, `send the ${what} as 64 hex characters`);
  return v;
}

/** Maps errors thrown by the node to statuses, by their stable class names. */
function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  switch (name) {
    case 'MempoolFullError':
      return new HttpError(429, { error: 'mempool-full', message, hint: 'the node is at capacity: retry after the Retry-After seconds' }, 1);
    case 'StoreFullError':
      return new HttpError(503, { error: 'store-full', message, hint: 'the node is out of storage: free space or raise store.maxBytes' });
    case 'NodeNotReadyError':
    case 'StoreClosedError':
      return new HttpError(503, { error: 'not-ready', message, hint: 'the node is starting or stopping: retry shortly' }, 1);
    case 'InvalidArgumentError':
    case 'RecordRejectedError':
      return badRequest('invalid-record', message, 'fix the record: see the message');
    default:
      return new HttpError(500, { error: 'internal', message: 'internal error', hint: 'see the node log' });
  }
}

function send(reply: FastifyReply, error: HttpError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds));
  return reply.code(error.status).send(error.body);
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  if (s !== undefined && s.length > MAX_META_CHARS) throw badRequest('header-too-long', `${name} is longer than ${MAX_META_CHARS} characters`, 'shorten it');
  return s;
}

/** Metadata headers carry percent-encoded UTF-8 (header values are Latin-1), as `safechain ingest` sends them. */
function percentDecoded(value: string, name: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw badRequest('invalid-header', `${name}: broken percent-encoding`, 'percent-encode the UTF-8 bytes (encodeURIComponent)');
  }
}

function traceCodesFrom(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value.split(',').map((s) => percentDecoded(s.trim(), 'x-safechain-trace-codes')).filter((s) => s !== '');
}

/**
 * Canonical padded base64 to bytes, as core's `fromBase64` decodes it, at native speed: Buffer's decoder is lenient,
 * so its result is accepted only when encoding it again gives back the exact text (that holds for canonical input
 * alone); anything else goes to `fromBase64`, which throws the precise error.
 */
function decodeBase64(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return fromBase64(text);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const PAYLOAD_LINE_HEAD = Buffer.from('{"payload":"');

/**
 * The common batch line, `{"payload":"<base64>"}` byte for byte, read without JSON.parse: the payload bytes, or
 * undefined for any other line (which then takes the general path). Canonical base64 has no quote, backslash or
 * control character, so such a line is exactly the JSON object `envelope` would read, with the same default type.
 */
function payloadOnlyLine(body: Buffer, start: number, end: number): Uint8Array | undefined {
  const head = PAYLOAD_LINE_HEAD.length;
  if (end - start < head + 2 || body[end - 1] !== 0x7d || body[end - 2] !== 0x22) return undefined;
  if (body.compare(PAYLOAD_LINE_HEAD, 0, head, start, start + head) !== 0) return undefined;
  const text = body.toString('latin1', start + head, end - 2);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads one JSON record envelope: exactly one of `payload` (base64), `text`, `json`, plus optional metadata. */
function envelope(value: unknown, where: string): RecordInput {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('invalid-envelope', `${where}: expected a JSON object`, 'send {"text": "..."} or {"json": {...}} or {"payload": "<base64>"}');
  }
  const o = value as Record<string, unknown>;
  const allowed = new Set(['payload', 'text', 'json', 'contentType', 'source', 'traceCodes']);
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) throw badRequest('invalid-envelope', `${where}: unknown field "${k}"`, `fields: ${[...allowed].join(', ')}`);
  }
  const given = ['payload', 'text', 'json'].filter((k) => o[k] !== undefined);
  if (given.length !== 1) throw badRequest('invalid-envelope', `${where}: give exactly one of payload, text, json`, 'payload is base64 bytes');
  let payload: Uint8Array;
  let defaultType: string;
  if (o['payload'] !== undefined) {
    if (typeof o['payload'] !== 'string') throw badRequest('invalid-envelope', `${where}: payload must be a base64 string`, 'base64 with padding');
    try {
      payload = decodeBase64(o['payload']);
    } catch (error) {
      throw badRequest('invalid-envelope', `${where}: payload: ${(error as Error).message}`, 'base64 with padding, no line breaks');
    }
    defaultType = 'application/octet-stream';
  } else if (o['text'] !== undefined) {
    if (typeof o['text'] !== 'string') throw badRequest('invalid-envelope', `${where}: text must be a string`, '');
    payload = utf8(o['text']);
    defaultType = 'text/plain;charset=utf-8';
  } else {
    payload = utf8(JSON.stringify(o['json']));
    defaultType = 'application/json';
  }
  const contentType = o['contentType'] ?? defaultType;
  if (typeof contentType !== 'string') throw badRequest('invalid-envelope', `${where}: contentType must be a string`, '');
  const record: { -readonly [K in keyof RecordInput]: RecordInput[K] } = { payload, contentType };
  if (o['source'] !== undefined) {
    if (typeof o['source'] !== 'string') throw badRequest('invalid-envelope', `${where}: source must be a string`, '');
    record.source = o['source'];
  }
  if (o['traceCodes'] !== undefined) {
    const codes = o['traceCodes'];
    if (!Array.isArray(codes) || !codes.every((c) => typeof c === 'string')) {
      throw badRequest('invalid-envelope', `${where}: traceCodes must be an array of strings`, '');
    }
    record.traceCodes = codes as string[];
  }
  return record;
}

const GRAPHQL_SCHEMA = `
  type Transaction {
    id: String!
    status: String!
    blockHash: String
    height: Int
    index: Int
    origin: String!
    sequence: Float!
    createdAt: Float!
    contentType: String!
    source: String
    traceCodes: [String!]!
    payloadHash: String!
    payloadSize: Int!
    payload: String
    stripped: Boolean!
  }
  type TransactionPage { items: [Transaction!]!, next: String }
  type Block {
    hash: String!
    height: Int!
    timestamp: Float!
    previousHash: String!
    merkleRoot: String!
    txCount: Int!
    signers: [String!]!
    transactionIds: [String!]!
  }
  type Query {
    transactions(traceCode: String, origin: String, contentType: String, from: Float, to: Float, limit: Int, after: String): TransactionPage!
    transaction(id: String!): Transaction
    block(hash: String, height: Int): Block
    proof(id: String!): String
  }
`;

/** Builds the API (not yet listening). */
export async function createApiServer(service: NodeService, options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: options.maxBodyBytes, logger: false, return503OnClosing: true });

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, _request, reply) => {
    const code = error.code;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return send(reply, new HttpError(413, { error: 'body-too-large', message: `request body over ${options.maxBodyBytes} bytes`, hint: 'split the records into smaller batches' }));
    }
    if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.statusCode === 400) {
      return send(reply, badRequest('invalid-body', error.message, 'send valid JSON'));
    }
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return send(reply, new HttpError(415, { error: 'unsupported-media-type', message: error.message, hint: 'use application/json' }));
    }
    return send(reply, toHttpError(error));
  });
  app.setNotFoundHandler((request, reply) =>
    send(reply, new HttpError(404, { error: 'no-such-route', message: `${request.method} ${request.url} is not an API route`, hint: 'see the node README for routes' })),
  );

  const guardReady = (): void => {
    if (!service.ready()) throw new HttpError(503, { error: 'not-ready', message: 'the node is starting or stopping', hint: 'retry shortly' }, 1);
  };

  // Raw records: the body is the record, whatever its content type, so this context takes every body as bytes.
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    raw.post('/v1/records', async (request, reply) => {
      guardReady();
      const body = request.body;
      if (!Buffer.isBuffer(body)) throw badRequest('empty-body', 'the request has no body', 'send the record bytes as the body');
      const sourceHeader = header(request, 'x-safechain-source');
      const source = sourceHeader === undefined ? undefined : percentDecoded(sourceHeader, 'x-safechain-source');
      const traceCodes = traceCodesFrom(header(request, 'x-safechain-trace-codes'));
      const record: RecordInput = {
        payload: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
        contentType: header(request, 'content-type') ?? 'application/octet-stream',
        ...(source !== undefined ? { source } : {}),
        ...(traceCodes !== undefined ? { traceCodes } : {}),
      };
      const [id] = await service.submit([record]);
      return reply.code(202).send({ id });
    });

    // NDJSON batch: one JSON envelope a line. All records are durable before the 202.
    raw.post('/v1/records/batch', async (request, reply) => {
      guardReady();
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0) throw badRequest('empty-body', 'the batch is empty', 'send one JSON envelope per line');
      const records: RecordInput[] = [];
      let at = 0;
      for (let i = 0; at <= body.length; i++) {
        let end = body.indexOf(0x0a, at);
        if (end < 0) end = body.length;
        const start = at;
        at = end + 1;
        const fast = payloadOnlyLine(body, start, end);
        const line = fast === undefined ? body.toString('utf8', start, end).trim() : '';
        if (fast === undefined && line === '') continue;
        if (records.length >= options.maxBatchRecords) {
          throw new HttpError(413, { error: 'batch-too-large', message: `more than ${options.maxBatchRecords} records`, hint: 'split the batch' });
        }
        if (fast !== undefined) {
          records.push({ payload: fast, contentType: 'application/octet-stream' });
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          throw badRequest('invalid-ndjson', `line ${i + 1} is not JSON`, 'one JSON envelope per line');
        }
        records.push(envelope(value, `line ${i + 1}`));
      }
      if (records.length === 0) throw badRequest('empty-body', 'the batch has no records', 'send one JSON envelope per line');
      const ids = await service.submit(records);
      return reply.code(202).send({ ids });
    });
  });

  app.post('/v1/records/json', async (request, reply) => {
    guardReady();
    const [id] = await service.submit([envelope(request.body, 'body')]);
    return reply.code(202).send({ id });
  });

  app.get<{ Params: { id: string }; Querystring: { payload?: string } }>('/v1/transactions/:id', async (request) => {
    const id = hex64(request.params.id, 'transaction id');
    const tx = await service.transaction(id, request.query.payload !== 'false');
    if (tx === undefined) throw notFound('no-such-transaction', `no transaction ${id}`);
    return tx;
  });

  app.get<{ Params: { ref: string } }>('/v1/blocks/:ref', async (request) => {
    const ref = request.params.ref;
    const block = /^\d{1,15}$/.test(ref) ? await service.blockByHeight(Number(ref)) : await service.blockByHash(hex64(ref, 'block hash'));
    if (block === undefined) throw notFound('no-such-block', `no block ${ref}`);
    return block;
  });

  app.get('/v1/tip', async () => {
    const s = await service.status();
    return service.blockByHash(s.tip);
  });

  app.get('/v1/status', async () => service.status());

  app.get<{ Params: { id: string } }>('/v1/proofs/:id', async (request, reply) => {
    const id = hex64(request.params.id, 'transaction id');
    const proof = await service.proof(id);
    if (proof === undefined) throw notFound('no-such-transaction', `no transaction ${id}`);
    if (proof === 'pending') {
      return reply.code(409).send({ error: 'not-in-block-yet', message: `transaction ${id} is not yet in a block`, hint: 'retry after the next block' });
    }
    return proof;
  });

  app.get('/health', async (_request, reply) => {
    const ok = service.ready();
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'not-ready' });
  });

  app.get('/metrics', async (_request, reply) => reply.type('text/plain; version=0.0.4').send(await service.metrics()));

  const query = service.query;
  if (query !== undefined) {
    const maxPage = 1000;
    await app.register(mercurius, {
      schema: GRAPHQL_SCHEMA,
      path: '/graphql',
      graphiql: false,
      queryDepth: 8,
      resolvers: {
        Query: {
          transactions: async (_root: unknown, args: Record<string, unknown>) => {
            const limit = typeof args['limit'] === 'number' ? args['limit'] : 100;
            if (limit < 1 || limit > maxPage) throw new Error(`limit must be 1 to ${maxPage}`);
            const q: { -readonly [K in keyof TransactionQuery]: TransactionQuery[K] } = { limit };
            for (const k of ['traceCode', 'origin', 'contentType', 'after'] as const) if (typeof args[k] === 'string') q[k] = args[k];
            for (const k of ['from', 'to'] as const) if (typeof args[k] === 'number') q[k] = args[k];
            const page = await query(q);
            return { items: page.items.map(flatten), next: page.next };
          },
          transaction: async (_root: unknown, args: { id: string }) => {
            const tx = await service.transaction(hex64(args.id, 'transaction id'), true);
            return tx === undefined ? null : flatten(tx);
          },
          block: async (_root: unknown, args: { hash?: string; height?: number }) =>
            (args.hash !== undefined ? await service.blockByHash(hex64(args.hash, 'block hash')) : args.height !== undefined ? await service.blockByHeight(args.height) : undefined) ?? null,
          proof: async (_root: unknown, args: { id: string }) => {
            const p = await service.proof(hex64(args.id, 'transaction id'));
            return p === undefined || p === 'pending' ? null : JSON.stringify(p);
          },
        },
      },
    });
  }
  return app;
}

function flatten(tx: TxView): Record<string, unknown> {
  return { ...tx, blockHash: tx.block?.blockHash ?? null, height: tx.block?.height ?? null, index: tx.block?.index ?? null };
}
