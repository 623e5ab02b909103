// corral's preload for Node apps in cluster mode: an unmodified server that calls
// listen(port) itself is served from the socket corral shares among the instances
// (inherited as fd 3, 4, ... and named in LISTEN_FDNAMES as HOST_PORT).
'use strict';
const net = require('net');

const names = (process.env.LISTEN_FDNAMES || '').split(':');
const count = parseInt(process.env.LISTEN_FDS || '0', 10) || 0;
const byPort = new Map();
for (let i = 0; i < count; i++) {
  const match = /_(\d+)$/.exec(names[i] || '');
  if (match) byPort.set(Number(match[1]), 3 + i);
}

function portOf(args) {
  const first = args[0];
  if (typeof first === 'number') return first;
  if (typeof first === 'string' && /^\d+$/.test(first)) return Number(first);
  if (first && typeof first === 'object' && first.fd === undefined && first.path === undefined
      && first.port !== undefined) return Number(first.port);
  return undefined;
}

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function corralListen(...args) {
  const port = portOf(args);
  if (port === undefined || port === 0) return listen.apply(this, args);
  const fd = byPort.get(port);
  if (fd === undefined) {
    const declared = [...byPort.keys()].join(', ') || 'none';
    throw new Error(
      `corral: this app listens on port ${port}, but its config shares no socket for it ` +
      `(shared ports: ${declared}). Declare it with listen = [":${port}"], port = ${port} ` +
      `or env.PORT = "${port}".`);
  }
  const callback = args.find((arg) => typeof arg === 'function');
  return listen.call(this, { fd }, callback);
};
