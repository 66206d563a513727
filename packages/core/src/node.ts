/**
 * The Node entry of `@safechain/core` (export condition `node`): everything of the portable entry, with the Node
 * crypto provider (OpenSSL through `node:crypto`) registered as the default. Verdicts are identical; see
 * `crypto/ed25519-rules.ts`.
 */
import { nodeCryptoProvider } from './crypto/node.js';
import { setCryptoProvider } from './crypto/provider.js';

setCryptoProvider(nodeCryptoProvider);

export * from './index.js';
export { nodeCryptoProvider } from './crypto/node.js';
