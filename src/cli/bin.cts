#!/usr/bin/env node
// The executable `sealdrop`: the process's start (start.cts), then the command line.
import { prepareProcess } from './start.cjs';

prepareProcess();
void import('./main.js');
