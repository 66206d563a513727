import { CliError, EXIT } from '../cli-error.js';

/** The node the client commands talk to: `--api URL`, else SAFECHAIN_API_URL, else the default API address. */
export function apiBase(flag: string | undefined): string {
  const raw = flag ?? process.env['SAFECHAIN_API_URL'] ?? 'http://127.0.0.1:7070';
  const withScheme = /^https?:\/\//.test(raw) ? raw : `http://${raw}`;
  try {
    return new URL(withScheme).toString().replace(/\/$/, '');
  } catch {
    throw new CliError(`--api ${raw}: not a URL`);
  }
}

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

/** One request to the node API. @throws CliError when the node cannot be reached */
export async function request(base: string, path: string, init: RequestInit = {}): Promise<ApiResponse> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new CliError(`cannot reach the node at ${base} (${cause}): is it running? (safechain start --data DIR)`, EXIT.usage);
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body };
}

/** The message of an API error body `{ error, message, hint }`. */
export function apiError(r: ApiResponse): string {
  const b = r.body as { error?: string; message?: string; hint?: string } | string;
  if (typeof b === 'string') return `HTTP ${r.status}: ${b.slice(0, 200)}`;
  return `${b.error ?? `HTTP ${r.status}`}: ${b.message ?? ''}${b.hint ? ` (${b.hint})` : ''}`;
}
