#!/usr/bin/env node
// The `intentmap` command: the composition root of the CLI. Each subcommand lives beside the part
// it belongs to and is registered here; its implementation is imported lazily so that, for
// example, `sniff` never loads SQLite and `export` never loads libpcap.
import { Command, CommanderError } from 'commander';
import { EXIT, UserError } from './errors.js';
import { registerCommands } from './commands.js';

/** Builds the command tree. */
export function buildProgram(): Command {
  const program = new Command('intentmap')
    .description(
      'Observe real traffic, turn it into identity-based client intents, and tell when it is safe to enforce.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program);
  return program;
}

/** Runs the CLI and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UserError) {
      process.stderr.write(`intentmap: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(
      `intentmap: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return EXIT.failure;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`intentmap: ${String(err)}\n`);
    process.exitCode = EXIT.failure;
  },
);
