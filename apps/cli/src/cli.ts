import { parseArgs } from 'node:util';
import { CliError, EXIT, processIo, type Io } from './cli-error.js';
import { demo } from './commands/demo.js';
import { keygen, keygenUsage } from './commands/keygen.js';
import {
  dbCheckCommand,
  ingestCommand,
  initCommand,
  proofCommand,
  startCommand,
  statusCommand,
  txCommand,
} from './commands/node-commands.js';
import { verify, verifyUsage } from './commands/verify.js';

const USAGE = `safechain <command> [options]

node:
  safechain init --data DIR [--type full|thin|archive|producer] [--consensus single|poa|pow] [--genesis FILE] [--name NAME]
      set up a data folder: node key (mode 0600), configuration, genesis, inbox/processed/rejected
  safechain start --data DIR [--api HOST:PORT] [--store sqlite|fs|memory] [--p2p HOST:PORT] [--seeds H:P,...]
      run the node until Ctrl-C (default API 127.0.0.1:7070)
  safechain db check --data DIR
      verify a stored chain: links, Merkle roots, signatures, seals; names the first bad block

client (--api URL selects the node, default http://127.0.0.1:7070):
  safechain status                   the node's status
  safechain ingest FILE... [--content-type T] [--trace-code C]...
                                     send files as records; prints their transaction ids
  safechain tx ID                    a transaction
  safechain proof ID                 the proof bundle on stdout (exit 3 while not yet in a block)

offline:
  ${verifyUsage}
      verify a proof bundle: exit 0 valid, 1 invalid, 2 not a readable proof bundle
  ${keygenUsage}
      write a new node key (PKCS#8 PEM, mode 0600) and print its identity
  safechain demo [--out DIR] [--records N]
      sign records, seal a block, write and verify a proof, with no node
`;

const apiOption = { api: { type: 'string' } } as const;

/** Runs one command line; returns the exit code. Exported for tests that run the CLI in-process. */
export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'keygen': {
        const { values } = parseArgs({ args: rest, options: { out: { type: 'string' }, force: { type: 'boolean', default: false } } });
        return await keygen({ out: values.out, force: values.force ?? false }, io);
      }
      case 'verify': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { origin: { type: 'string', multiple: true }, 'trusted-block': { type: 'string', multiple: true } },
        });
        if (positionals.length > 1) throw new CliError(`verify takes one FILE\nusage: ${verifyUsage}`);
        return await verify({ file: positionals[0], origins: values.origin ?? [], trustedBlocks: values['trusted-block'] ?? [] }, io);
      }
      case 'demo': {
        const { values } = parseArgs({ args: rest, options: { out: { type: 'string', default: 'demo-output' }, records: { type: 'string', default: '1000' } } });
        const records = Number(values.records);
        if (!Number.isSafeInteger(records) || records < 1 || records > 1_000_000) throw new CliError('--records: expected 1 to 1000000');
        return await demo({ outDir: values.out ?? 'demo-output', records }, io);
      }
      case 'init': {
        const { values } = parseArgs({
          args: rest,
          options: { data: { type: 'string' }, type: { type: 'string' }, consensus: { type: 'string' }, genesis: { type: 'string' }, name: { type: 'string' } },
        });
        return await initCommand(values, io);
      }
      case 'start': {
        const { values } = parseArgs({
          args: rest,
          options: { data: { type: 'string' }, api: { type: 'string' }, store: { type: 'string' }, p2p: { type: 'string' }, seeds: { type: 'string' } },
        });
        return await startCommand(values, io);
      }
      case 'status': {
        const { values } = parseArgs({ args: rest, options: apiOption });
        return await statusCommand(values, io);
      }
      case 'ingest': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { ...apiOption, 'content-type': { type: 'string' }, 'trace-code': { type: 'string', multiple: true } },
        });
        return await ingestCommand(
          {
            ...(values.api !== undefined ? { api: values.api } : {}),
            files: positionals,
            ...(values['content-type'] !== undefined ? { contentType: values['content-type'] } : {}),
            traceCodes: values['trace-code'] ?? [],
          },
          io,
        );
      }
      case 'tx':
      case 'proof': {
        const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: apiOption });
        if (positionals.length !== 1) throw new CliError(`${command} takes one transaction ID`);
        const o = { ...values, id: positionals[0]! };
        return command === 'tx' ? await txCommand(o, io) : await proofCommand(o, io);
      }
      case 'db': {
        const [sub, ...more] = rest;
        if (sub !== 'check') throw new CliError('usage: safechain db check --data DIR');
        const { values } = parseArgs({ args: more, options: { data: { type: 'string' } } });
        return await dbCheckCommand(values, io);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        throw new CliError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`safechain: ${error.message}`);
      return error.exitCode;
    }
    // Configuration and data-folder problems are the user's to fix: a clear line, no stack.
    const name = error instanceof Error ? error.name : '';
    if (['ConfigError', 'DataDirError', 'InvalidGenesisFileError', 'InvalidKeyError', 'GenesisMismatchError', 'StoreLockedError'].includes(name)) {
      io.err(`safechain: ${(error as Error).message}`);
      return EXIT.usage;
    }
    // parseArgs throws TypeErrors with an ERR_PARSE_ARGS_* code for unknown or malformed options.
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      io.err(`safechain: ${(error as Error).message}`);
      return EXIT.usage;
    }
    throw error;
  }
}
