import { SafechainError } from '@safechain/core';

/** Exit codes of the `safechain` command, stable for scripts. */
export const EXIT = {
  ok: 0,
  /** The thing checked is not valid (a proof that fails, a corrupt chain). */
  invalid: 1,
  /** Usage errors, unreadable files, input that is not what the command takes. */
  usage: 2,
  /** The answer is not there yet (a transaction not yet in a block). */
  notYet: 3,
} as const;

/** A command failed in a way the user must fix; `exitCode` says how it ends. */
export class CliError extends SafechainError {
  override readonly name = 'CliError' as const;
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT.usage) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Where a command writes: injectable so tests can capture output without spawning. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};
