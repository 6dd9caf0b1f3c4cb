'use strict';
// The fixed twin of pending-reply-map.js: a call that times out removes its pending entry and rejects,
// so nothing is left waiting.
const { EventEmitter } = require('node:events');

class RpcClient {
  constructor(transport) {
    this.transport = transport;
    this.pending = new Map();
    this.nextId = 1;
    transport.on('reply', ({ id, value }) => {
      const entry = this.pending.get(id);
      if (entry) {
        this.pending.delete(id);
        clearTimeout(entry.timer);
        entry.resolve(value);
      }
    });
  }

  call(method, payload, timeoutMs) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} timed out`));
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
      this.transport.emit('request', { id, method, payload });
    });
  }
}

async function request(client, i) {
  const payload = Buffer.alloc(16 * 1024, i);
  try {
    const reply = await client.call(i % 4 === 3 ? 'lost' : 'echo', payload, 20);
    return reply.length;
  } catch {
    return null;
  }
}

const transport = new EventEmitter();
transport.on('request', ({ id, method, payload }) => {
  if (method !== 'lost') setImmediate(() => transport.emit('reply', { id, value: payload }));
});

const client = new RpcClient(transport);

async function main() {
  let answered = 0;
  for (let i = 0; i < 40; i++) if ((await request(client, i)) !== null) answered++;
  console.log(`${answered} answered, ${client.pending.size} still pending`);
}

// Graceful shutdown keeps a reference to the client for as long as the process lives.
process.on('SIGTERM', () => client.transport.removeAllListeners());

main();
