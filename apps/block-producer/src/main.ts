import { runNodeApp } from '@safechain/node';

// A producer node (the paper's Table I): everything is assembled by @safechain/node from the data folder's
// configuration; this app only fixes the node type and hands over the command line.
runNodeApp('producer', process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`safechain-block-producer: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 70;
  },
);
