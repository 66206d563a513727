import { constants } from 'node:fs';
import { chmod, open } from 'node:fs/promises';
import { NodeKey } from '@safechain/core';
import { CliError, EXIT, type Io } from '../cli-error.js';

export const keygenUsage = 'safechain keygen --out FILE [--force]';

/**
 * Writes a new ed25519 node key as PKCS#8 PEM with file mode 0600 and prints its public key (the node identity).
 * Refuses to overwrite an existing file unless `force`, because losing a node key loses the node's identity.
 */
export async function keygen(options: { readonly out: string | undefined; readonly force: boolean }, io: Io): Promise<number> {
  if (options.out === undefined) throw new CliError(`missing --out FILE\nusage: ${keygenUsage}`);
  const key = NodeKey.generate();
  const flags = constants.O_WRONLY | constants.O_CREAT | (options.force ? constants.O_TRUNC : constants.O_EXCL);
  let handle;
  try {
    handle = await open(options.out, flags, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CliError(`${options.out} exists; refusing to overwrite a key (use --force)`);
    throw new CliError(`cannot write ${options.out}: ${(error as Error).message}`);
  }
  try {
    // The mode given to open() is filtered by the umask and ignored for an existing file: set it explicitly.
    await chmod(options.out, 0o600);
    await handle.writeFile(key.toPem());
    await handle.sync();
  } finally {
    await handle.close();
  }
  io.out(`wrote ${options.out} (mode 0600); node identity ${key.id}`);
  return EXIT.ok;
}
