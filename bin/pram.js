#!/usr/bin/env node
// Entry point of the `pram` command; the CLI itself lives in dist/cli/.
import '../dist/cli/main.js';
