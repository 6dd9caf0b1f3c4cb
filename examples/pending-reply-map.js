'use strict';
// A request/reply client keeps a Map of pending replies (id -> resolve). When a reply never comes the
// caller gives up after a timeout, but the entry stays: every abandoned call's promise, its suspended
// `request` frame and its payload stay reachable, and the caller's promise never settles.
const { EventEmitter } = require('node:events');

class RpcClient {
  constructor(transport) {
    this.transport = transport;
    this.pending = new Map();
    this.nextId = 1;
    transport.on('reply', ({ id, value }) => {
      const resolve = this.pending.get(id);
      if (resolve) {
        this.pending.delete(id);
        resolve(value);
      }
    });
  }

  call(method, payload) {
    const id = this.nextId++;
    return new Promise((resolve) => { // leak: unsettled
      this.pending.set(id, resolve);
      this.transport.emit('request', { id, method, payload });
    });
  }
}

async function request(client, i) { // leak: unsettled
  const payload = Buffer.alloc(16 * 1024, i);
  const reply = await client.call(i % 4 === 3 ? 'lost' : 'echo', payload);
  return reply.length;
}

// A transport that never answers the method 'lost'.
const transport = new EventEmitter();
transport.on('request', ({ id, method, payload }) => {
  if (method !== 'lost') setImmediate(() => transport.emit('reply', { id, value: payload }));
});

const client = new RpcClient(transport);
const withTimeout = (p, ms) => Promise.race([p, new Promise((resolve) => setTimeout(resolve, ms, null))]);

async function main() {
  let answered = 0;
  for (let i = 0; i < 40; i++) if ((await withTimeout(request(client, i), 20)) !== null) answered++;
  console.log(`${answered} answered, ${client.pending.size} still pending`);
}

// Graceful shutdown keeps a reference to the client for as long as the process lives.
process.on('SIGTERM', () => client.transport.removeAllListeners());

main();
