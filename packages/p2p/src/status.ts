import { CloseCode } from './errors.js';
import type { Direction } from './peer.js';
import type { SyncStatus } from './sync.js';

/** The shapes of `network.status()`: plain, JSON-serialisable objects for /metrics and dashboards. */

export interface PeerStatus {
  readonly key: string;
  readonly address: string;
  readonly direction: Direction;
  readonly score: number;
  readonly connectedAt: number;
  readonly rttMs?: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export interface KnownPeerStatus {
  readonly key: string;
  readonly address: string;
  readonly connected: boolean;
  readonly online: boolean;
  readonly failures: number;
  readonly lastSeenOnline: number;
}

/** `network.status()`: a plain JSON-serialisable object for /metrics and dashboards. */
export interface NetworkStatus {
  readonly key: string;
  readonly chainId: string;
  readonly state: 'new' | 'running' | 'stopped';
  readonly listening?: string;
  readonly advertised?: string;
  readonly peers: readonly PeerStatus[];
  readonly knownPeers: readonly KnownPeerStatus[];
  readonly seeds: readonly { readonly address: string; readonly key?: string; readonly failures: number; readonly self: boolean }[];
  readonly counts: {
    readonly connected: number;
    readonly inbound: number;
    readonly outbound: number;
    readonly handshaking: number;
    readonly known: number;
    readonly online: number;
    readonly banned: number;
  };
  readonly messages: { readonly in: Readonly<Record<string, number>>; readonly out: Readonly<Record<string, number>> };
  readonly bytes: { readonly in: number; readonly out: number };
  /** Messages or items dropped, by reason (offences, duplicates, backpressure, full queues). */
  readonly drops: Readonly<Record<string, number>>;
  /** Closed connections by close code name. */
  readonly disconnects: Readonly<Record<string, number>>;
  readonly bans: readonly { readonly key: string; readonly until: number; readonly reason: string }[];
  readonly sync: SyncStatus;
  readonly queues: { readonly ledger: number; readonly relay: number };
  readonly seen: { readonly transactions: number; readonly blocks: number };
  /** Ids of long-pending transactions announced to every peer again (see `resendPendingIntervalMs`). */
  readonly resent: { readonly transactions: number };
}

const CLOSE_NAMES = new Map<number, string>([
  [1000, 'normal'],
  [1001, 'going-away'],
  [1006, 'abnormal'],
  [1009, 'message-too-big'],
  ...Object.entries(CloseCode).map(([name, code]) => [code, name] as [number, string]),
]);

/** A readable name of a WebSocket close code, for the disconnect counters. */
export function closeName(code: number): string {
  return CLOSE_NAMES.get(code) ?? `code-${code}`;
}

