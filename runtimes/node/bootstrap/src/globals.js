// The globals a Node handler expects, installed when the runtime's bundle is evaluated (at build
// time, under wizer): process, Buffer, global, Node's timers, Lambda's console, awslambda.

import { Buffer } from 'buffer';
import process from './process.js';
import * as timers from './timers.js';
import { console } from './console.js';
import { awslambda } from './streaming.js';

const g = globalThis;
g.global = g;
g.process = process;
g.Buffer = Buffer;
timers.install(g);
g.console = console;
g.awslambda = awslambda;
