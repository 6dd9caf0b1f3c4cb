'use strict';
// A short CommonJS script (child of startup.js): loads a few built-ins and packages, does a little work,
// and prints the whole process's CPU time at exit (start-up and any preload included: the preload's own
// exit listeners were added first and have run by then).
const work = Number(process.argv[2]) || 0;
process.on('exit', () => {
  const c = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ startupCpuMs: (c.user + c.system) / 1000 })}\n`);
});
const http = require('node:http');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const { pipeline } = require('node:stream/promises');
require('node:util');
require('node:url');
require('node:dns');
const { Command } = require('commander');
const WebSocket = require('ws');
const pg = require('pg');
let h = 0;
const until = process.cpuUsage().user + work * 1000;
while (process.cpuUsage().user < until) h ^= crypto.createHash('sha1').update(JSON.stringify({ h, t: Date.now() })).digest()[0];
setTimeout(() => {
  if (typeof http.createServer !== 'function' || !zlib || !pipeline || !Command || !WebSocket || !pg.Pool) process.exitCode = 2;
}, 5);
