// The tracing end-to-end test's middle service:
//   node trace_forwarder.js HOST PORT UPSTREAM_HOST UPSTREAM_PORT
// Answers every request by making the same GET to the upstream, passing on
// the trace context headers it received (what every app in a mesh must do
// for a trace to join up: Istio's and Linkerd's docs ask the same), and
// returns the upstream's status and body.
'use strict';
const http = require('http');

const [host, port, upstreamHost, upstreamPort] = process.argv.slice(2);
const kPropagated = ['traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid',
  'x-b3-sampled', 'x-b3-flags', 'x-request-id'];

http.createServer((req, res) => {
  const headers = {};
  for (const name of kPropagated) if (req.headers[name] !== undefined) headers[name] = req.headers[name];
  const upstream = http.get({host: upstreamHost, port: upstreamPort, path: req.url, headers, agent: false}, (up) => {
    const chunks = [];
    up.on('data', (d) => chunks.push(d));
    up.on('end', () => {
      res.writeHead(up.statusCode, {'content-type': up.headers['content-type'] || 'text/plain'});
      res.end(Buffer.concat(chunks));
    });
  });
  upstream.on('error', (err) => {
    res.writeHead(502, {'content-type': 'text/plain'});
    res.end(String(err));
  });
}).listen(Number(port), host);
