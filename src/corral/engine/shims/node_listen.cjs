// corral's preload for Node apps in cluster mode: an unmodified server that calls
// listen(port) itself is served from a socket corral shares among the instances, as
// PM2's cluster primary does. A port declared in the config is inherited (fd 3, 4, ...,
// named in LISTEN_FDNAMES as HOST_PORT); any other port is asked for on corral's IPC
// channel (NODE_CHANNEL_FD), and corral sends the listening socket back as a handle.
// On SIGINT/SIGTERM, unless the app listens for them itself, the servers stop taking
// connections, the ones taken finish (briefly), then the signal does what it would have.
'use strict';
const net = require('net');

const names = (process.env.LISTEN_FDNAMES || '').split(':');
const count = parseInt(process.env.LISTEN_FDS || '0', 10) || 0;
const byPort = new Map();
for (let i = 0; i < count; i++) {
  const match = /_(\d+)$/.exec(names[i] || '');
  if (match) byPort.set(Number(match[1]), 3 + i);
}
const BACKLOG = 1024;
const drainMs = parseInt(process.env.CORRAL_DRAIN_MS || '500', 10) || 500;
// The channel is corral's only in the process corral started (not in the app's own
// cluster workers or forked children, which inherit this preload).
const brokered = process.env.CORRAL_NODE_CHANNEL !== undefined
  && typeof process.send === 'function' && !require('cluster').isWorker;
delete process.env.CORRAL_NODE_CHANNEL;
delete process.env.CORRAL_DRAIN_MS;

const pending = new Map();
let seq = 0;
if (brokered) {
  process.on('internalMessage', (message, handle) => {
    if (!message || message.cmd !== 'NODE_CORRAL_SOCKET') return;
    const done = pending.get(message.seq);
    pending.delete(message.seq);
    if (pending.size === 0) process.channel.unref();
    if (done) done(message, handle);
    else if (handle) handle.close();
  });
}

function target(args) {
  const first = args[0];
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    return { port: Number(first), host: typeof args[1] === 'string' ? args[1] : undefined };
  }
  if (first && typeof first === 'object' && first.fd === undefined && first.path === undefined
      && first.handle === undefined && first._handle === undefined && first.port !== undefined) {
    return { port: Number(first.port), host: first.host, ipv6Only: first.ipv6Only };
  }
  return undefined;
}

function ask(want, done) {
  const family = want.host === undefined || want.host === '' ? 'any'
    : net.isIPv6(want.host) ? 'inet6' : net.isIPv4(want.host) ? 'inet' : undefined;
  const send = (host, kind) => {
    seq += 1;
    pending.set(seq, done);
    process.channel.ref(); // keep the process alive until corral answers
    process.send({ cmd: 'NODE_CORRAL_LISTEN', seq, family: kind, host, port: want.port,
      v6only: want.ipv6Only === true });
  };
  if (family !== undefined) return send(want.host, family);
  require('dns').lookup(want.host, (error, address, version) => {
    if (error) return done({ code: error.code, message: error.message });
    return send(address, version === 6 ? 'inet6' : 'inet');
  });
  return undefined;
}

const servers = new Set();
const signalled = new Set();
function drainOn(signal) {
  if (signalled.has(signal)) return;
  signalled.add(signal);
  const onSignal = () => {
    if (process.listenerCount(signal) > 1) return; // the app stops itself
    process.removeListener(signal, onSignal);
    for (const server of servers) {
      server.close();
      if (typeof server.closeIdleConnections === 'function') server.closeIdleConnections();
    }
    setTimeout(() => process.kill(process.pid, signal), drainMs);
  };
  process.on(signal, onSignal);
}

function served(server) {
  servers.add(server);
  server.once('close', () => servers.delete(server));
  drainOn('SIGINT');
  drainOn('SIGTERM');
}

function failure(server, want, message) {
  const code = message.code || 'EADDRNOTAVAIL';
  const where = `${want.host || '::'}:${want.port}`;
  const error = new Error(`listen ${code}: ${message.message || code} ${where} (corral)`);
  Object.assign(error, { code, errno: -(message.errno || 0), syscall: 'listen',
    address: want.host || '::', port: want.port });
  server.emit('error', error);
}

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function corralListen(...args) {
  const want = target(args);
  if (want === undefined || !want.port) return listen.apply(this, args);
  const callback = args.find((arg) => typeof arg === 'function');
  const fd = byPort.get(want.port);
  if (fd !== undefined) {
    served(this);
    return listen.call(this, { fd }, callback);
  }
  if (!brokered) return listen.apply(this, args);
  ask(want, (message, handle) => {
    if (!handle) {
      failure(this, want, message);
      return;
    }
    served(this);
    // Node listens on it again (libuv must, to watch it): with corral's backlog, not 511.
    listen.call(this, handle, BACKLOG, callback);
  });
  return this;
};
