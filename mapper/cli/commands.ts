// The list of subcommands. Each part owns its command modules (`<part>/cli/*-command.ts`), each
// exporting `register(program)`; register a command here only once it works end to end.
import type { Command } from 'commander';
import { register as registerSniff } from '../../sniffer/cli/sniff-command.js';
import { register as registerConnectivity } from './connectivity-command.js';
import { register as registerMapper } from './mapper-command.js';
import { register as registerImport } from './import-command.js';
import { register as registerExport } from './export-command.js';
import { register as registerSimulate } from './simulate-command.js';
import { register as registerDiff } from './diff-command.js';
import { register as registerReport } from './report-command.js';
import { register as registerDemo } from './demo-command.js';

/** A module that adds one subcommand to the program. */
export type CommandRegistrar = (program: Command) => void;

const registrars: readonly CommandRegistrar[] = [
  registerSniff,
  registerConnectivity,
  registerMapper,
  registerImport,
  registerExport,
  registerSimulate,
  registerDiff,
  registerReport,
  registerDemo,
];

/** Adds every working subcommand to `program`. */
export function registerCommands(program: Command): void {
  for (const register of registrars) register(program);
}
