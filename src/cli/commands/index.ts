// Every subcommand of `pram`, in the order --help lists them. Each module
// exports `register(program)`; add a command by adding its file here.
import type { Command } from 'commander';
import { register as demo } from './demo.js';
import { register as sim } from './sim.js';
import { register as mount } from './mount.js';
import { register as umount } from './umount.js';

export const commands: ((program: Command) => void)[] = [demo, sim, mount, umount];
