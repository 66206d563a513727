import { parseArgs } from 'node:util';
import { CliError, EXIT, processIo, type Io } from './cli-error.js';
import { demo } from './commands/demo.js';
import { keygen, keygenUsage } from './commands/keygen.js';
import { verify, verifyUsage } from './commands/verify.js';

const USAGE = `safechain <command> [options]

commands:
  ${keygenUsage}
      write a new node key (PKCS#8 PEM, mode 0600) and print its identity
  ${verifyUsage}
      verify a proof bundle offline: exit 0 valid, 1 invalid, 2 not a readable proof bundle
  safechain demo [--out DIR] [--records N]
      sign records, seal a block, write and verify a proof
`;

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
    // parseArgs throws TypeErrors with an ERR_PARSE_ARGS_* code for unknown or malformed options.
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      io.err(`safechain: ${(error as Error).message}`);
      return EXIT.usage;
    }
    throw error;
  }
}
