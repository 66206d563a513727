import { readFile, stat } from 'node:fs/promises';
import {
  MAX_PROOF_BUNDLE_CHARS,
  NotAProofBundleError,
  parseProofBundle,
  UnsupportedProofVersionError,
  verifyProof,
  type ProofBundle,
  type VerifyProofOptions,
} from '@safechain/core';
import { CliError, EXIT, type Io } from '../cli-error.js';

export const verifyUsage = 'safechain verify FILE|- [--origin PUBKEY]... [--trusted-block HASH]...';

const HASH_HEX = /^[0-9a-f]{64}$/;

async function readInput(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin) {
      size += (chunk as Buffer).length;
      if (size > MAX_PROOF_BUNDLE_CHARS) throw new CliError(`standard input: larger than ${MAX_PROOF_BUNDLE_CHARS} bytes, not a proof bundle`);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    // Bound the size before reading: a proof bundle is small, a wrong file may not be.
    const info = await stat(file);
    if (!info.isFile()) throw new CliError(`${file}: not a regular file`);
    if (info.size > MAX_PROOF_BUNDLE_CHARS) throw new CliError(`${file}: ${info.size} bytes, too large to be a proof bundle`);
    return await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

function hexList(values: readonly string[], flag: string): string[] {
  return values.map((v) => {
    const lower = v.toLowerCase();
    if (!HASH_HEX.test(lower)) throw new CliError(`${flag} ${v}: expected 64 hex characters`);
    return lower;
  });
}

/**
 * Verifies a proof bundle offline. Exit 0 and a one-line summary when valid; exit 1 and the reason when invalid;
 * exit 2 when the file is unreadable or not a proof bundle.
 */
export async function verify(
  options: { readonly file: string | undefined; readonly origins: readonly string[]; readonly trustedBlocks: readonly string[] },
  io: Io,
): Promise<number> {
  if (options.file === undefined) throw new CliError(`missing FILE\nusage: ${verifyUsage}`);
  const text = await readInput(options.file);
  let bundle: ProofBundle;
  try {
    bundle = parseProofBundle(text);
  } catch (error) {
    if (error instanceof NotAProofBundleError || error instanceof UnsupportedProofVersionError) {
      throw new CliError(`${options.file}: not a safechain proof bundle (${error.message})`);
    }
    throw error;
  }
  const verifyOptions: VerifyProofOptions = {
    ...(options.origins.length > 0 ? { trustedOrigins: hexList(options.origins, '--origin') } : {}),
    ...(options.trustedBlocks.length > 0 ? { trustedBlocks: hexList(options.trustedBlocks, '--trusted-block') } : {}),
  };
  const verdict = verifyProof(bundle, verifyOptions);
  if (!verdict.valid) {
    io.out(`INVALID ${verdict.reason}: ${verdict.message}`);
    return EXIT.invalid;
  }
  const trust = [
    verdict.originTrusted === true ? 'trusted origin' : 'origin not pinned (--origin)',
    verdict.blockTrusted === true ? 'trusted block' : 'block not pinned (--trusted-block)',
    // A bundle over an unsealed header proves only its own consistency: say so on the one line.
    verdict.blockSigners.length === 0 ? 'WARNING: block carries no seal' : `sealed by ${verdict.blockSigners.length}`,
  ].join(', ');
  io.out(
    `VALID tx ${verdict.txId} in block ${verdict.blockHash} at height ${verdict.height} (index ${verdict.index}), ` +
      `origin ${verdict.origin}, created ${new Date(verdict.createdAt).toISOString()}, ` +
      `${verdict.payloadIncluded ? 'payload included' : 'payload not included'}; ${trust}`,
  );
  return EXIT.ok;
}
