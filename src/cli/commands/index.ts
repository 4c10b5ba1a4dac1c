// Every subcommand of `pram`, in the order --help lists them. Each module
// exports `register(program)`; add a command by adding its file here.
import type { Command } from 'commander';
import { register as demo } from './demo.js';
import { register as formatCmd } from './format.js';
import { register as put } from './put.js';
import { register as get } from './get.js';
import { register as ls } from './ls.js';
import { register as cat } from './cat.js';
import { register as rm } from './rm.js';
import { register as mkdir } from './mkdir.js';
import { register as info } from './info.js';
import { register as check } from './check.js';
import { register as save } from './save.js';
import { register as sim } from './sim.js';
import { register as mount } from './mount.js';
import { register as umount } from './umount.js';
import { register as kexec } from './kexec.js';
import { register as map } from './map.js';
import { register as bench } from './bench.js';
import { register as installMountHelper } from './install-mount-helper.js';
import { register as installUnits } from './install-units.js';

export const commands: ((program: Command) => void)[] = [demo, formatCmd, put, get, ls, cat, rm, mkdir, info, check, save, sim, mount, umount, installMountHelper, kexec, map, bench, installUnits];
