// A plain Node HTTP server that calls listen(PORT) itself, as Express or `next start` do.
const http = require('http');
const port = Number(process.env.PORT || 3000);
const server = http.createServer((req, res) => {
  res.setHeader('Connection', 'close');
  res.end(String(process.pid));
});
server.listen(port, () => console.log(`node listening on ${port} as ${process.pid}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
