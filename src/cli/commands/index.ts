// Every subcommand of `pram`, in the order --help lists them. Each module
// exports `register(program)`; add a command by adding its file here.
import type { Command } from 'commander';
import { register as demo } from './demo.js';

export const commands: ((program: Command) => void)[] = [demo];
