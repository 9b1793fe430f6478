#!/usr/bin/env node
// A small server of Nx's self-hosted remote cache API (the OpenAPI spec Nx publishes, selected with
// NX_SELF_HOSTED_REMOTE_CACHE_SERVER), for the tests and benchmarks: PUT /v1/cache/{hash} stores a task's
// archive (200; 409 for a key it already has: entries are never overwritten), GET returns it (200) or 404;
// a bearer token is required. No server of that API is on the npm registry here; teams use a real one.
//
//   node scripts/remote-cache-server.js [token] [log file]
// prints "listening <url>"; one line per request ("PUT <hash> 200") goes to the log file, if given.
const fs = require('node:fs');
const http = require('node:http');

const token = process.argv[2] || 'stigmer-test-token';
const logFile = process.argv[3];
const entries = new Map();

const server = http.createServer((request, response) => {
  const match = /^\/v1\/cache\/([A-Za-z0-9]+)$/.exec(request.url || '');
  const reply = (status, body) => {
    if (logFile) fs.appendFileSync(logFile, `${request.method} ${match ? match[1] : request.url} ${status}\n`);
    response.writeHead(status, Buffer.isBuffer(body) ? { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length } : {});
    response.end(body);
  };
  if (!match) return reply(404, 'not found');
  if (request.headers.authorization !== `Bearer ${token}`) return reply(403, 'missing or wrong bearer token');
  const hash = match[1];
  if (request.method === 'GET') return entries.has(hash) ? reply(200, entries.get(hash)) : reply(404, 'miss');
  if (request.method !== 'PUT') return reply(405, 'method not allowed');
  if (entries.has(hash)) return reply(409, 'exists');
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    entries.set(hash, Buffer.concat(chunks));
    reply(200);
  });
});

server.listen(0, '127.0.0.1', () => console.log(`listening http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
