// A short ES module script (child of startup.js): the same as child.cjs, loaded as ESM.
import http from 'node:http';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import 'node:util';
import 'node:url';
import 'node:dns';
import { Command } from 'commander';
import WebSocket from 'ws';
import pg from 'pg';

const work = Number(process.argv[2]) || 0;
process.on('exit', () => {
  const c = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ startupCpuMs: (c.user + c.system) / 1000 })}\n`);
});
let h = 0;
const until = process.cpuUsage().user + work * 1000;
while (process.cpuUsage().user < until) h ^= crypto.createHash('sha1').update(JSON.stringify({ h, t: Date.now() })).digest()[0];
setTimeout(() => {
  if (typeof http.createServer !== 'function' || !zlib || !pipeline || !Command || !WebSocket || !pg.Pool) process.exitCode = 2;
}, 5);
