import {
  InvalidArgumentError,
  publicKeyFromHex,
  toHex,
  verifySignature,
  type Ed25519Signer,
} from '@safechain/core';
import { admissionSigningMessage, type AdmissionCertificate } from './messages.js';

/**
 * Who may join the local network. Two mechanisms, usable together:
 * - an allowlist of node keys (hex): simple, and removing a key revokes it at once (`Membership.setAllowlist`);
 * - admission keys: a node is a member when it shows a certificate, signed by one of the trusted admission keys,
 *   over the chain id and its node key (`issueAdmission`). New members need no configuration change on every node;
 *   certificates do not expire, so revoking one means removing its admission key (or adding the node to nothing:
 *   use the allowlist when revocation matters).
 * With neither configured the network is open to any node of the same chain.
 */
export interface MembershipOptions {
  /** Node keys (64 lower-case hex characters) that are members. */
  readonly allow?: readonly string[];
  /** Admission public keys (hex) whose certificates admit a node. */
  readonly admissionKeys?: readonly string[];
}

const MAX_CACHED_VERDICTS = 4_096;

function parseKeys(keys: readonly string[], name: string): Set<string> {
  if (!Array.isArray(keys)) throw new InvalidArgumentError(`${name}: expected an array of hex keys`);
  const out = new Set<string>();
  keys.forEach((key, i) => {
    if (typeof key !== 'string') throw new InvalidArgumentError(`${name}[${i}]: expected a hex string`);
    out.add(toHex(publicKeyFromHex(key)));
  });
  return out;
}

/**
 * Creates an admission certificate: `authority` admits `memberKey` to chain `chainId`. The node whose key it is
 * passes it to `createNetwork({ admission })`.
 */
export function issueAdmission(authority: Ed25519Signer, chainId: Uint8Array, memberKey: Uint8Array): AdmissionCertificate {
  const signature = authority.sign(admissionSigningMessage(chainId, memberKey));
  return { authority: authority.publicKey.slice(), signature };
}

/** Verifies an admission certificate for `memberKey` on `chainId` (signature only, not whether the authority is trusted). */
export function verifyAdmission(chainId: Uint8Array, memberKey: Uint8Array, admission: AdmissionCertificate): boolean {
  return verifySignature(admission.authority, admissionSigningMessage(chainId, memberKey), admission.signature);
}

/** The membership rule of one node. */
export class Membership {
  readonly #chainId: Uint8Array;
  #allow: Set<string> | undefined;
  readonly #authorities: Set<string>;
  /** Verified certificates by `member|authority|signature`, so peer exchange does not re-verify known members. */
  readonly #verdicts = new Map<string, boolean>();

  /** @throws InvalidKeyError for a malformed key; InvalidArgumentError for a non-array */
  constructor(chainId: Uint8Array, options: MembershipOptions = {}) {
    this.#chainId = chainId.slice();
    this.#allow = options.allow === undefined ? undefined : parseKeys(options.allow, 'allow');
    this.#authorities = parseKeys(options.admissionKeys ?? [], 'admissionKeys');
  }

  /** True when neither an allowlist nor admission keys are configured. */
  get open(): boolean {
    return this.#allow === undefined && this.#authorities.size === 0;
  }

  /** The allowlist, or undefined when none is configured. */
  get allowlist(): readonly string[] | undefined {
    return this.#allow === undefined ? undefined : [...this.#allow];
  }

  /**
   * Replaces the allowlist (undefined removes it). The network drops connected peers that are no longer members.
   * @throws InvalidKeyError for a malformed key
   */
  setAllowlist(keys: readonly string[] | undefined): void {
    this.#allow = keys === undefined ? undefined : parseKeys(keys, 'allow');
  }

  /** Whether the node `nodeKey`, showing `admission` (if any), is a member. */
  isMember(nodeKey: Uint8Array, admission?: AdmissionCertificate): boolean {
    if (this.open) return true;
    const hex = toHex(nodeKey);
    if (this.#allow?.has(hex) === true) return true;
    if (admission === undefined || !this.#authorities.has(toHex(admission.authority))) return false;
    const cacheKey = `${hex}|${toHex(admission.authority)}|${toHex(admission.signature)}`;
    const cached = this.#verdicts.get(cacheKey);
    if (cached !== undefined) return cached;
    const verdict = verifyAdmission(this.#chainId, nodeKey, admission);
    if (this.#verdicts.size >= MAX_CACHED_VERDICTS) this.#verdicts.clear();
    this.#verdicts.set(cacheKey, verdict);
    return verdict;
  }
}
