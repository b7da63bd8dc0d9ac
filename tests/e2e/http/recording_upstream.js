// The recording upstream of the HTTP/1.1 end-to-end test:
//   node recording_upstream.js HOST PORT RECORD_FILE
// A strict HTTP/1.1 server (Node's llhttp, lenient flags off) that answers
// every request with an empty 200 and, when a connection closes, appends one
// JSON line for it to RECORD_FILE: its index (connections are numbered in the
// order they arrive), the requests it carried (method, url, headers as sent,
// the body's first 64 KiB, length and SHA-256, complete or cut short) and the
// parse errors Node raised. The proxy makes one upstream connection per client
// connection, so line N tells what the client's N-th connection delivered. A parse error here means
// the proxy forwarded something a strict parser refuses: a failure.
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');

const kBodyKept = 64 * 1024;

const [host, port, recordFile] = process.argv.slice(2);
let nextIndex = 0;

// Host is not required: the fixtures include requests without one, and whether
// the mesh forwards them unchanged is the question.
const server = http.createServer({insecureHTTPParser: false, requireHostHeader: false, requestTimeout: 0, headersTimeout: 20000}, (req, res) => {
  const record = {method: req.method, url: req.url, headers: req.rawHeaders, body: '', bodyBytes: 0, complete: false};
  const hash = crypto.createHash('sha256');
  req.socket.weft.requests.push(record);
  req.on('data', (chunk) => {
    // The first 64 KiB as text (the fixtures' bodies), all of it as a digest.
    if (record.body.length < kBodyKept) record.body += chunk.toString('latin1', 0, kBodyKept - record.body.length);
    record.bodyBytes += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => {
    record.complete = true;
    record.sha256 = hash.digest('hex');
    res.writeHead(200, {'content-length': '0'});
    res.end();
  });
});
server.keepAliveTimeout = 20000;

server.on('connection', (socket) => {
  socket.weft = {index: nextIndex++, requests: [], errors: []};
  socket.on('close', () => fs.appendFileSync(recordFile, JSON.stringify(socket.weft) + '\n'));
});
server.on('clientError', (err, socket) => {
  // ECONNRESET and the like are the proxy cutting a request short (recorded
  // as incomplete). The parser's own errors (HPE_*) are kept for the driver:
  // HPE_INVALID_EOF_STATE after a started request is a cut body, anything
  // else is a message the proxy should never have forwarded.
  if (socket.weft && String(err.code).startsWith('HPE_')) socket.weft.errors.push(err.code);
  socket.destroy();
});
server.listen(Number(port), host, () => console.log(`recording on ${host}:${port} into ${recordFile}`));
